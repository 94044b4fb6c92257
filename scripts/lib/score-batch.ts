/**
 * @module
 * Scores one batch of texts through the API for the score CLI, so that one bad text never costs its
 * neighbours: a 400 naming `texts[i]` puts the error on that text and resends the rest, a 413 splits the batch,
 * and overload or backend trouble (429/502/503/504, connection loss, timeouts) is retried with backoff, honouring
 * `Retry-After`. Anything else (bad key, unknown model) is fatal for the run.
 */
import { ApiResponseError, EnsembledPerplexityError } from '../../controller/client/index.ts';
import type {
  EnsembledPerplexityClient,
  PerplexityRequest,
  TextResult,
} from '../../controller/client/index.ts';

/** A text's outcome: the API's per-text result without its batch-relative `index`, or why there is none. */
export type TextOutcome = Omit<TextResult, 'index'> | { error: { type: string; message: string } };

export interface ScoreBatchOptions {
  readonly client: EnsembledPerplexityClient;
  /** Request fields besides `texts` (models, min_models, weights, details, timeout_ms). */
  readonly request: Omit<PerplexityRequest, 'texts'>;
  /** Attempts after the first for retryable failures. @default 5 */
  readonly retries?: number;
  /** First backoff in ms (doubles per attempt, at most 30 s) when the server gives no Retry-After. @default 500 */
  readonly backoffMs?: number;
  readonly signal?: AbortSignal;
}

const MAX_BACKOFF_MS = 30_000;
const TEXT_PARAM = /^texts\[(\d+)\]/;

export async function scoreBatch(
  texts: readonly string[],
  options: ScoreBatchOptions,
): Promise<TextOutcome[]> {
  const out: TextOutcome[] = new Array(texts.length);
  await scoreInto(
    texts.map((text, i) => ({ text, slot: i })),
    out,
    options,
  );
  return out;
}

async function scoreInto(
  items: { text: string; slot: number }[],
  out: TextOutcome[],
  options: ScoreBatchOptions,
): Promise<void> {
  let pending = items;
  let attempt = 0;
  while (pending.length > 0) {
    try {
      const response = await options.client.perplexity(
        { ...options.request, texts: pending.map((p) => p.text) },
        options.signal ? { signal: options.signal } : {},
      );
      for (const { index, ...result } of response.results) {
        out[(pending[index] as { slot: number }).slot] = result;
      }
      return;
    } catch (err) {
      if (err instanceof ApiResponseError && err.status === 400) {
        const bad = TEXT_PARAM.exec(err.param ?? '');
        const at = bad ? Number(bad[1]) : -1;
        if (at < 0 || at >= pending.length) throw err;
        out[(pending[at] as { slot: number }).slot] = {
          error: { type: err.type, message: stripParam(err.message) },
        };
        pending = pending.filter((_, i) => i !== at);
        continue;
      }
      if (err instanceof ApiResponseError && err.status === 413) {
        if (pending.length === 1) {
          out[(pending[0] as { slot: number }).slot] = {
            error: { type: err.type, message: 'the text is larger than the server accepts' },
          };
          return;
        }
        const half = Math.ceil(pending.length / 2);
        await scoreInto(pending.slice(0, half), out, options);
        await scoreInto(pending.slice(half), out, options);
        return;
      }
      if (!isRetryable(err) || attempt >= (options.retries ?? 5)) throw err;
      const base = (options.backoffMs ?? 500) * 2 ** attempt;
      const waitMs =
        err instanceof ApiResponseError && err.retryAfterSeconds !== undefined
          ? err.retryAfterSeconds * 1000
          : Math.min(base, MAX_BACKOFF_MS);
      attempt++;
      await sleep(waitMs, options.signal);
    }
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ApiResponseError) return err.retryable;
  return (
    err instanceof EnsembledPerplexityError &&
    (err.code === 'EP_CONNECTION' || err.code === 'EP_TIMEOUT')
  );
}

/** "400 invalid_request: texts[3]: too long" → "too long": the line number replaces the batch position. */
function stripParam(message: string): string {
  return message.replace(/^\d+ \w+: /, '').replace(/^texts\[\d+\]: /, '');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
