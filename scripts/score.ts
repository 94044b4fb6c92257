/**
 * @module
 * `npm run score -- --in texts.jsonl --out scores.jsonl`: scores a JSONL file through the API. Each input line is
 * a JSON string or an object with a `text` string (its other fields, e.g. `id`, are copied to the output); each
 * output line holds that line's result, in input order, one for one. Batches go out with bounded concurrency,
 * progress goes to stderr, and `--resume` continues an interrupted run without re-scoring finished lines.
 * A bad input line gets an error object on its output line instead of stopping the run.
 *
 * Options: --url (default $EP_URL or http://127.0.0.1:8000), --key (default $EP_API_KEY; prefer the variable,
 * a key on the command line lands in shell history), --models a,b, --batch 256, --concurrency 4, --resume,
 * --timeout-ms 300000, --retries 5.
 */
import { isMainModule } from './lib/main-module.ts';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { EnsembledPerplexityClient } from '../controller/client/index.ts';
import { scoreBatch } from './lib/score-batch.ts';
import type { TextOutcome } from './lib/score-batch.ts';
import { countLines, keepCompleteLines } from './lib/score-files.ts';
import { Progress } from './lib/score-progress.ts';

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

/** Text bytes per request, well under the server's default 8 MiB per-request budget. */
const MAX_BATCH_TEXT_BYTES = 4 * 1024 * 1024;

interface InputLine {
  text?: string;
  extra?: Record<string, unknown>;
  invalid?: string;
}

export async function runScore(options: ScoreOptions): Promise<ScoreSummary> {
  const started = performance.now();
  const batchSize = positive('batch', options.batch ?? 256);
  const concurrency = positive('concurrency', options.concurrency ?? 4);
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
    timeoutMs: options.timeoutMs ?? 300_000,
    connections: concurrency,
  });
  const out = createWriteStream(options.outPath, { flags: options.resume ? 'a' : 'w' });
  const progress =
    options.progress === false ? undefined : new Progress({ total, initial: skipped });
  const summary: ScoreSummary = {
    total,
    skipped,
    written: 0,
    invalid: 0,
    textErrors: 0,
    interrupted: false,
    seconds: 0,
  };
  const request = options.models ? { models: [...options.models] } : {};
  const signal = options.signal;

  const inflight: Promise<{ text: string; lines: number }>[] = [];
  const writeNext = async () => {
    const done = await (inflight.shift() as Promise<{ text: string; lines: number }>);
    if (signal?.aborted) return;
    if (!out.write(done.text)) await once(out, 'drain');
    summary.written += done.lines;
    progress?.update(skipped + summary.written);
    options.onLines?.(skipped + summary.written);
  };
  const launch = (batch: InputLine[]) => {
    const texts = batch.filter((l) => l.text !== undefined).map((l) => l.text as string);
    const scored = texts.length
      ? scoreBatch(texts, {
          client,
          request,
          retries: options.retries ?? 5,
          ...(signal ? { signal } : {}),
        })
      : Promise.resolve([] as TextOutcome[]);
    const rendered = scored.then((outcomes) => ({
      text: render(batch, outcomes, summary),
      lines: batch.length,
    }));
    // Rejections are handled when the batch's turn to be written comes; until then, mark them seen.
    rendered.catch(() => {});
    inflight.push(rendered);
  };

  const input = createInterface({
    input: createReadStream(options.inPath),
    crlfDelay: Infinity,
  });
  let lineNo = 0;
  let batch: InputLine[] = [];
  let batchBytes = 0;
  try {
    for await (const raw of input) {
      if (signal?.aborted) break;
      if (lineNo++ < skipped) continue;
      const line = parseInputLine(raw);
      const bytes = line.text === undefined ? 0 : Buffer.byteLength(line.text);
      if (batch.length > 0 && batchBytes + bytes > MAX_BATCH_TEXT_BYTES) {
        launch(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(line);
      batchBytes += bytes;
      if (batch.length >= batchSize) {
        launch(batch);
        batch = [];
        batchBytes = 0;
      }
      while (inflight.length >= concurrency) await writeNext();
    }
    if (batch.length > 0 && !signal?.aborted) launch(batch);
    while (inflight.length > 0 && !signal?.aborted) await writeNext();
  } catch (err) {
    if (!signal?.aborted) throw err;
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

/** Output lines of one batch: pass-through fields, then the text's result (or the line's error). */
function render(batch: InputLine[], outcomes: TextOutcome[], summary: ScoreSummary): string {
  let text = '';
  let next = 0;
  for (const line of batch) {
    if (line.invalid !== undefined) {
      summary.invalid++;
      text += `${JSON.stringify({ error: { type: 'invalid_input', message: line.invalid } })}\n`;
      continue;
    }
    const outcome = outcomes[next++] as TextOutcome;
    if ('error' in outcome && outcome.error) summary.textErrors++;
    text += `${JSON.stringify({ ...line.extra, ...outcome })}\n`;
  }
  return text;
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

async function main(): Promise<void> {
  const { values } = parseArgs({
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
    },
  });
  if (!values.in || !values.out) {
    throw new Error(
      'usage: npm run score -- --in texts.jsonl --out scores.jsonl [--url URL] [--models a,b] [--batch 256] [--concurrency 4] [--resume]',
    );
  }
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
    process.exit(1);
  });
}
