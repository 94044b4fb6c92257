/**
 * @module
 * Scoring many texts so that one bad text never costs its neighbours. A batch goes out as a streamed request, so
 * results arrive as each text completes; a 400 naming `texts[i]` puts the error on that text and resends the
 * rest, a 413 splits the batch, and overload or backend trouble is retried (honouring `Retry-After`) for the texts
 * that have no result yet. Anything else (bad key, unknown model) is thrown.
 */
import type { EnsembledPerplexityClient } from './client.js';
import { ApiResponseError, EnsembledPerplexityError } from './errors.js';
import { retryDelayMs, sleep } from './retry.js';
import type { RetryOptions } from './retry.js';
import { isSummaryLine } from './types.js';
import type { PerplexityRequest, TextError, TextResult } from './types.js';

/** A text's outcome: the API's per-text result without its batch-relative `index`, or why there is none. */
export type TextOutcome =
  Omit<TextResult, 'index'> | { error: TextError; ensemble?: undefined; models?: undefined };

export interface BatchOptions {
  /** Request fields besides `texts` (models, min_models, weights, details, window_chars, ...). */
  readonly request?: Omit<PerplexityRequest, 'texts'>;
  /** Retries of a batch on overload or backend trouble. @default {retries: 5} */
  readonly retry?: RetryOptions;
  readonly signal?: AbortSignal;
  /** Called as each text's outcome is known (completion order), with the text's position in `texts`. */
  readonly onResult?: (index: number, outcome: TextOutcome) => void;
}

export interface ManyOptions extends Omit<BatchOptions, 'onResult'> {
  /** Texts per request. @default 256 */
  readonly batch?: number;
  /** Requests in flight. @default 4 */
  readonly concurrency?: number;
  /** UTF-8 bytes of text per request, well under the server's default 8 MiB budget. @default 4194304 */
  readonly maxBatchBytes?: number;
}

const BATCH_RETRIES = 5;
const TEXT_PARAM = /^texts\[(\d+)\]/;

export async function scoreBatch(
  client: EnsembledPerplexityClient,
  texts: readonly string[],
  options: BatchOptions,
): Promise<TextOutcome[]> {
  const out: TextOutcome[] = new Array(texts.length);
  const deliver = (slot: number, outcome: TextOutcome) => {
    out[slot] = outcome;
    options.onResult?.(slot, outcome);
  };
  await scoreInto(
    client,
    texts.map((text, slot) => ({ text, slot })),
    deliver,
    options,
  );
  return out;
}

interface Item {
  text: string;
  slot: number;
}

async function scoreInto(
  client: EnsembledPerplexityClient,
  items: Item[],
  deliver: (slot: number, outcome: TextOutcome) => void,
  options: BatchOptions,
): Promise<void> {
  const retry = { retries: BATCH_RETRIES, ...options.retry };
  let pending = items;
  let attempt = 0;
  while (pending.length > 0) {
    const sent = pending;
    const delivered = new Set<number>();
    try {
      const lines = client.perplexityStream(
        { ...options.request, texts: sent.map((p) => p.text) },
        { retry: { retries: 0 }, ...(options.signal ? { signal: options.signal } : {}) },
      );
      for await (const line of lines) {
        if (isSummaryLine(line)) continue;
        const { index, ...result } = line;
        const item = sent[index];
        if (!item || delivered.has(index)) {
          throw new EnsembledPerplexityError(
            'EP_BAD_RESPONSE',
            `the stream sent a result for text ${index}, which it was not asked for or already answered`,
          );
        }
        delivered.add(index);
        deliver(item.slot, atPosition(result, item.slot));
      }
      pending = sent.filter((_, i) => !delivered.has(i));
      if (pending.length > 0) {
        throw new EnsembledPerplexityError(
          'EP_BAD_RESPONSE',
          `the stream ended without results for ${pending.length} texts`,
        );
      }
      return;
    } catch (err) {
      pending = sent.filter((_, i) => !delivered.has(i));
      // A stream that broke after some results made progress: the remaining texts start a fresh count.
      if (delivered.size > 0) attempt = 0;
      if (options.signal?.aborted) {
        throw new EnsembledPerplexityError('EP_ABORTED', 'the call was aborted', { cause: err });
      }
      if (err instanceof ApiResponseError && err.status === 400 && delivered.size === 0) {
        const bad = TEXT_PARAM.exec(err.param ?? '');
        const item = bad ? sent[Number(bad[1])] : undefined;
        if (!item) throw err;
        deliver(item.slot, {
          error: { type: err.type, message: err.message.replace(/^texts\[\d+\]: /, '') },
        });
        pending = sent.filter((p) => p !== item);
        continue;
      }
      if (err instanceof ApiResponseError && err.status === 413 && delivered.size === 0) {
        if (sent.length === 1) {
          deliver((sent[0] as Item).slot, {
            error: { type: err.type, message: 'the text is larger than the server accepts' },
          });
          return;
        }
        const half = Math.ceil(sent.length / 2);
        await scoreInto(client, sent.slice(0, half), deliver, options);
        await scoreInto(client, sent.slice(half), deliver, options);
        return;
      }
      const wait = retryDelayMs(err, attempt, retry, true);
      if (wait === undefined) throw err;
      attempt++;
      try {
        await sleep(wait, options.signal);
      } catch (reason) {
        throw new EnsembledPerplexityError('EP_ABORTED', 'the call was aborted', { cause: reason });
      }
    }
  }
}

interface Batch {
  readonly outcomes: (TextOutcome | undefined)[];
  next: number;
}

export async function* scoreMany(
  client: EnsembledPerplexityClient,
  texts: Iterable<string> | AsyncIterable<string>,
  options: ManyOptions,
): AsyncGenerator<TextOutcome, void, undefined> {
  const batchSize = positive('batch', options.batch ?? 256);
  const concurrency = positive('concurrency', options.concurrency ?? 4);
  const maxBytes = positive('maxBatchBytes', options.maxBatchBytes ?? 4 * 1024 * 1024);
  // Stops the batches still in flight when the caller stops reading or one batch fails for good.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const source = toAsyncIterator(texts);
  const queue: Batch[] = [];
  let failure: { error: unknown } | undefined;
  let exhausted = false;
  let carried: string | undefined;
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const notify = () => {
    wake();
    changed = new Promise<void>((resolve) => (wake = resolve));
  };

  const readBatch = async (): Promise<string[]> => {
    const batch: string[] = [];
    let bytes = 0;
    while (batch.length < batchSize) {
      let text = carried;
      carried = undefined;
      if (text === undefined) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        text = next.value;
      }
      const size = Buffer.byteLength(text);
      if (batch.length > 0 && bytes + size > maxBytes) {
        carried = text;
        break;
      }
      batch.push(text);
      bytes += size;
    }
    return batch;
  };

  try {
    for (;;) {
      while (!failure && !(exhausted && carried === undefined) && queue.length < concurrency) {
        const texts = await readBatch();
        if (texts.length === 0) break;
        const batch: Batch = { outcomes: new Array(texts.length), next: 0 };
        queue.push(batch);
        scoreBatch(client, texts, {
          ...options,
          signal,
          onResult: (i, outcome) => {
            batch.outcomes[i] = outcome;
            notify();
          },
        }).catch((error: unknown) => {
          failure ??= { error };
          notify();
        });
      }
      const head = queue[0];
      if (!head) return;
      let outcome: TextOutcome | undefined;
      while ((outcome = head.outcomes[head.next]) !== undefined) {
        head.outcomes[head.next++] = undefined;
        yield outcome;
      }
      if (head.next === head.outcomes.length) {
        queue.shift();
        continue;
      }
      if (failure) throw failure.error;
      await changed;
    }
  } finally {
    stop.abort(new Error('scoreMany stopped'));
    await source.return?.();
  }
}

function toAsyncIterator(texts: Iterable<string> | AsyncIterable<string>): AsyncIterator<string> {
  if (Symbol.asyncIterator in texts) return texts[Symbol.asyncIterator]();
  const sync = texts[Symbol.iterator]();
  return {
    next: async () => sync.next(),
    return: async () => sync.return?.() ?? { done: true, value: undefined },
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The server names a failed text by its place in the batch (`texts[i]`); the caller knows it by its place in
 * the whole input, so errors are relabelled with that.
 */
function atPosition(result: Omit<TextResult, 'index'>, slot: number): Omit<TextResult, 'index'> {
  const param = `texts[${slot}]`;
  const relabel = (error: TextError): TextError =>
    error.param === undefined ? error : { ...error, param };
  const models = Object.fromEntries(
    Object.entries(result.models).map(([name, m]) => [
      name,
      'error' in m && m.error ? { ...m, error: relabel(m.error) } : m,
    ]),
  ) as TextResult['models'];
  return { ...result, models, ...(result.error ? { error: relabel(result.error) } : {}) };
}
