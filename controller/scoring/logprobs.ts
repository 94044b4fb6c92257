/**
 * @module
 * Reading token log-probabilities out of a vLLM `prompt_logprobs` list. The logprob of the actual token is taken
 * by its id (`dict[String(id)]`), never by key order: vLLM writes the actual token first, then the top-k
 * (`vllm/logprobs.py`, https://github.com/vllm-project/vllm), but a JS object lists integer-like keys in
 * ascending order (https://tc39.es/ecma262/#sec-ordinaryownpropertykeys), so the first key need not be it.
 */
import type { PromptLogprobs } from '../backends/vllm-types.ts';

/** vLLM's stand-in for −∞ (and anything at or below it). */
export const NEG_INF_SENTINEL = -9999;

/** One scored token, for `details: "tokens"`. */
export interface TokenLogprob {
  id: number;
  logprob: number;
  /** The token as the backend decoded it on its own; may be "" for partial UTF-8 pieces. */
  text: string | null;
}

export interface ScoredSpan {
  /** −Σ logprob over the scored positions (natural log). */
  nll: number;
  /** Scored positions. */
  tokens: number;
  /** Per-token detail, only when asked for. */
  detail?: TokenLogprob[];
}

export class InvalidLogprobError extends Error {
  override name = 'InvalidLogprobError';
  readonly position: number;
  constructor(position: number, what: string) {
    super(`the backend gave no usable logprob for the token at position ${position} (${what})`);
    this.position = position;
  }
}

/**
 * Sums the logprobs of positions `from` … end of one prompt.
 * @throws {InvalidLogprobError} for a missing entry, a non-finite value or vLLM's −∞ sentinel.
 */
export function sumPromptLogprobs(
  ids: readonly number[],
  logprobs: PromptLogprobs,
  from: number,
  withDetail: boolean,
): ScoredSpan {
  let sum = 0;
  const detail: TokenLogprob[] | undefined = withDetail ? [] : undefined;
  for (let j = Math.max(from, 1); j < ids.length; j++) {
    const position = logprobs[j];
    if (!position || typeof position !== 'object') throw new InvalidLogprobError(j, 'no entry');
    const id = ids[j] as number;
    const entry = position[String(id)];
    if (!entry || typeof entry !== 'object')
      throw new InvalidLogprobError(j, 'actual token missing');
    const lp = entry.logprob;
    if (typeof lp !== 'number' || !Number.isFinite(lp))
      throw new InvalidLogprobError(j, 'not a finite number');
    if (lp <= NEG_INF_SENTINEL) throw new InvalidLogprobError(j, '-inf');
    if (lp > 1e-6) throw new InvalidLogprobError(j, 'positive log-probability');
    sum += lp;
    detail?.push({
      id,
      logprob: lp,
      text: typeof entry.decoded_token === 'string' ? entry.decoded_token : null,
    });
  }
  const tokens = ids.length - Math.max(from, 1);
  return detail ? { nll: -sum, tokens, detail } : { nll: -sum, tokens };
}
