/**
 * @module
 * `npm run score -- --in texts.jsonl --out scores.jsonl`: scores a JSONL file through the API. Each input line is
 * a JSON string or an object with a `text` string (its other fields, e.g. `id`, are copied to the output); each
 * output line holds that line's result, in input order, one for one, written as soon as it and every line before
 * it are scored. Batches go out with bounded concurrency through the typed client's `scoreMany` (split on 413,
 * retries honouring `Retry-After`), progress goes to stderr, Ctrl-C keeps every finished line, and `--resume`
 * continues an interrupted run without re-scoring finished lines. A bad input line gets an error object on its
 * output line instead of stopping the run.
 */
import { isMainModule } from './lib/main-module.ts';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ApiResponseError,
  EnsembledPerplexityClient,
  EnsembledPerplexityError,
} from '../clients/typescript/src/index.ts';
import type { TextOutcome } from '../clients/typescript/src/index.ts';
import { countLines, keepCompleteLines } from './lib/score-files.ts';
import { Progress } from './lib/score-progress.ts';

export const USAGE = `usage: npm run score -- --in texts.jsonl --out scores.jsonl [options]

Scores each line of a JSONL file (a JSON string, or an object with a "text" string whose other fields are
copied to the output) through the API, and writes one result line per input line, in input order.

Options:
  --in PATH            input JSONL file (required)
  --out PATH           output JSONL file (required; overwritten unless --resume)
  --url URL            API base URL (default: $EP_URL or http://127.0.0.1:8000)
  --key KEY            API key (default: $EP_API_KEY; prefer the variable, a key on the command line
                       lands in shell history)
  --models a,b         models to use (default: all the server has)
  --batch N            texts per request (default 256)
  --concurrency N      requests in flight (default 4)
  --timeout-ms MS      deadline of one request in ms (default 300000)
  --retries N          retries of a request on overload or backend trouble (default 5)
  --resume             continue after the complete lines already in --out
  -h, --help           show this help

Ctrl-C stops the run and keeps every finished line; rerun with --resume to continue.`;

export interface ScoreOptions {
  /** Input JSONL path. */
  readonly inPath: string;
  /** Output JSONL path (created, overwritten, or with `resume` appended to). */
  readonly outPath: string;
  /** API base URL. */
  readonly url: string;
  /** API key. @default - none */
  readonly apiKey?: string;
  /** Models to use. @default - all the server has */
  readonly models?: readonly string[];
  /** Input lines per request. @default 256 */
  readonly batch?: number;
  /** Requests in flight. @default 4 */
  readonly concurrency?: number;
  /** Continue after the complete lines already in `outPath` instead of starting over. @default false */
  readonly resume?: boolean;
  /** Per-request deadline in ms. @default 300000 */
  readonly timeoutMs?: number;
  /** Retries of a batch on overload or backend trouble. @default 5 */
  readonly retries?: number;
  /** Stops the run; complete output lines stay, ready for `resume`. */
  readonly signal?: AbortSignal;
  /** Progress on stderr (`false`: none). @default true */
  readonly progress?: boolean;
  /** Called after each batch is written, with the lines done in all (resumed ones included). */
  readonly onLines?: (done: number) => void;
}

export interface ScoreSummary {
  /** Lines in the input. */
  total: number;
  /** Lines found complete in the output and skipped (`resume`). */
  skipped: number;
  /** Lines written by this run. */
  written: number;
  /** Lines that were not a JSON string or an object with a `text` string. */
  invalid: number;
  /** Lines whose text got an error instead of figures (empty, too long, rejected...). */
  textErrors: number;
  /** Whether the run was stopped by `signal` before the end. */
  interrupted: boolean;
  seconds: number;
}

/** Deadline of the first call, which checks that the server answers and takes the key. */
const REACH_TIMEOUT_MS = 10_000;

interface InputLine {
  text?: string;
  extra?: Record<string, unknown>;
  invalid?: string;
}

export async function runScore(options: ScoreOptions): Promise<ScoreSummary> {
  const started = performance.now();
  const batch = positive('batch', options.batch ?? 256);
  const concurrency = positive('concurrency', options.concurrency ?? 4);
  const retries = nonNegative('retries', options.retries ?? 5);
  const timeoutMs = positive('timeout-ms', options.timeoutMs ?? 300_000);
  const total = await countLines(options.inPath);
  const skipped = options.resume ? await keepCompleteLines(options.outPath) : 0;
  if (skipped > total) {
    throw new Error(
      `${options.outPath} has ${skipped} lines but ${options.inPath} only ${total}: not an output of this input`,
    );
  }
  const client = new EnsembledPerplexityClient({
    baseUrl: options.url,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    timeoutMs,
    connections: concurrency,
  });
  try {
    await checkReachable(client, options);
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
  const out = createWriteStream(options.outPath, { flags: options.resume ? 'a' : 'w' });
  const progress =
    options.progress === false ? undefined : new Progress({ total, initial: skipped });
  progress?.update(skipped);
  const summary: ScoreSummary = {
    total,
    skipped,
    written: 0,
    invalid: 0,
    textErrors: 0,
    interrupted: false,
    seconds: 0,
  };
  const signal = options.signal;

  // Lines read but not yet written, in input order; `scoreMany` answers their texts in the same order.
  const waiting: InputLine[] = [];
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
    summary.written++;
    progress?.update(skipped + summary.written);
    options.onLines?.(skipped + summary.written);
  };
  const writeInvalidLines = async () => {
    while (waiting[0] && waiting[0].text === undefined) {
      const line = waiting.shift() as InputLine;
      summary.invalid++;
      await write(
        `${JSON.stringify({ error: { type: 'invalid_input', message: line.invalid } })}\n`,
      );
    }
  };
  const input = createInterface({ input: createReadStream(options.inPath), crlfDelay: Infinity });
  async function* texts(): AsyncGenerator<string> {
    let lineNo = 0;
    for await (const raw of input) {
      if (lineNo++ < skipped) continue;
      const line = parseInputLine(raw);
      waiting.push(line);
      if (line.text !== undefined) yield line.text;
    }
  }

  try {
    const outcomes = client.scoreMany(texts(), {
      batch,
      concurrency,
      retry: { retries },
      ...(options.models ? { request: { models: [...options.models] } } : {}),
      ...(signal ? { signal } : {}),
    });
    for await (const outcome of outcomes) {
      await writeInvalidLines();
      const line = waiting.shift() as InputLine;
      if (outcome.error) summary.textErrors++;
      await write(`${JSON.stringify({ ...line.extra, ...withoutParams(outcome) })}\n`);
    }
    await writeInvalidLines();
  } catch (err) {
    if (!signal?.aborted) throw describeFailure(err, options);
  } finally {
    input.close();
    summary.interrupted = Boolean(signal?.aborted);
    out.end();
    await once(out, 'close');
    await client.close().catch(() => {});
    summary.seconds = (performance.now() - started) / 1000;
    progress?.finish(summary.interrupted ? 'interrupted: rerun with --resume' : '');
  }
  return summary;
}

/** Fails fast, naming the URL, when the server cannot be reached or does not take the key. */
async function checkReachable(
  client: EnsembledPerplexityClient,
  options: ScoreOptions,
): Promise<void> {
  const signal = AbortSignal.timeout(REACH_TIMEOUT_MS);
  try {
    await client.models({
      signal: options.signal ? AbortSignal.any([options.signal, signal]) : signal,
      retry: { retries: 0 },
    });
  } catch (err) {
    if (
      err instanceof EnsembledPerplexityError &&
      err.code === 'EP_ABORTED' &&
      signal.aborted &&
      !options.signal?.aborted
    ) {
      throw new Error(`no answer from ${options.url} within ${REACH_TIMEOUT_MS / 1000} s`);
    }
    throw describeFailure(err, options);
  }
}

/** A message for the person at the terminal: what failed, where, and what to do. */
function describeFailure(err: unknown, options: ScoreOptions): unknown {
  if (err instanceof ApiResponseError && err.status === 401) {
    return new Error(
      options.apiKey
        ? `${options.url} refused the API key (${err.message}): check EP_API_KEY or --key`
        : `${options.url} needs an API key: set EP_API_KEY (or pass --key)`,
    );
  }
  if (err instanceof ApiResponseError) {
    return new Error(
      `${options.url} answered ${err.status} ${err.type}${err.param ? ` (${err.param})` : ''}: ${err.message}`,
    );
  }
  if (err instanceof EnsembledPerplexityError && err.code === 'EP_CONNECTION') {
    return new Error(
      `cannot reach ${options.url}: ${err.message.replace(/^cannot reach the server: /, '')}`,
    );
  }
  if (err instanceof EnsembledPerplexityError && err.code === 'EP_TIMEOUT') {
    return new Error(`no answer from ${options.url} in time (raise --timeout-ms?)`);
  }
  return err;
}

export function parseInputLine(raw: string): InputLine {
  if (raw.trim() === '') return { invalid: 'empty line' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { invalid: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value === 'string') return { text: value, extra: {} };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { text, ...extra } = value as Record<string, unknown>;
    if (typeof text === 'string') return { text, extra };
  }
  return { invalid: 'expected a JSON string or an object with a "text" string' };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** Thrown for a command line that cannot run; `main` prints it with the usage. */
class UsageError extends Error {}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        in: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        key: { type: 'string' },
        models: { type: 'string' },
        batch: { type: 'string' },
        concurrency: { type: 'string' },
        resume: { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        retries: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.in || !values.out) throw new UsageError('--in and --out are required');
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort(new Error('interrupted')));
  process.once('SIGTERM', () => stop.abort(new Error('terminated')));
  const apiKey = values.key ?? process.env.EP_API_KEY;
  const summary = await runScore({
    inPath: values.in,
    outPath: values.out,
    url: values.url ?? process.env.EP_URL ?? 'http://127.0.0.1:8000',
    ...(apiKey ? { apiKey } : {}),
    ...(values.models ? { models: values.models.split(',').map((m) => m.trim()) } : {}),
    ...(values.batch ? { batch: Number(values.batch) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values['timeout-ms'] ? { timeoutMs: Number(values['timeout-ms']) } : {}),
    ...(values.retries ? { retries: Number(values.retries) } : {}),
    resume: values.resume,
    signal: stop.signal,
  });
  console.error(
    `score: ${summary.written} lines written (${summary.skipped} resumed, ${summary.invalid} invalid, ${summary.textErrors} text errors) in ${summary.seconds.toFixed(1)} s`,
  );
  if (summary.interrupted) process.exitCode = 130;
}

const invokedDirectly = isMainModule(import.meta.url);
if (invokedDirectly) {
  main().catch((err: unknown) => {
    console.error(`score: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}

/**
 * An output line stands for its input line, so errors do not repeat the text's position (`param: "texts[i]"`):
 * it would differ between a run and its `--resume`, which must write the same bytes.
 */
function withoutParams(outcome: TextOutcome): TextOutcome {
  const strip = <E extends { param?: string }>(error: E): E => {
    const { param: _param, ...rest } = error;
    return rest as E;
  };
  if (!outcome.models) return outcome.error ? { ...outcome, error: strip(outcome.error) } : outcome;
  const models = Object.fromEntries(
    Object.entries(outcome.models).map(([name, m]) => [
      name,
      'error' in m && m.error ? { ...m, error: strip(m.error) } : m,
    ]),
  );
  return {
    ...outcome,
    models,
    ...(outcome.error ? { error: strip(outcome.error) } : {}),
  } as TextOutcome;
}
