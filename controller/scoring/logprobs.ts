/**
 * @module
 * Reading token log-probabilities out of a vLLM `prompt_logprobs` list. The logprob of the actual token is taken
 * by its id (`dict[String(id)]`), never by key order: vLLM writes the actual token first, then the top-k
 * (`vllm/logprobs.py`, https://github.com/vllm-project/vllm), but a JS object lists integer-like keys in
 * ascending order (https://tc39.es/ecma262/#sec-ordinaryownpropertykeys), so the first key need not be it.
 */
import type { PromptLogprobs } from '../backends/vllm-types.ts';
import type { TokenRun } from './token-run.ts';

/** vLLM's stand-in for −∞ (and anything at or below it). */
export const NEG_INF_SENTINEL = -9999;

export interface ScoredSpan {
  /** −Σ logprob over the scored positions (natural log). */
  nll: number;
  /** Scored positions. */
  tokens: number;
  /** The scored tokens, only when asked for. */
  run?: TokenRun;
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
 * Sums the logprobs of positions `from` … end of one prompt read with `JSON.parse` (the golden probe's check;
 * scoring reads answers into `ScoredChoice`s and sums them in `scheduler/scored-span.ts`, by the same rules).
 * @throws {InvalidLogprobError} for a missing entry, a non-finite value or vLLM's −∞ sentinel.
 */
export function sumPromptLogprobs(
  ids: readonly number[],
  logprobs: PromptLogprobs,
  from: number,
): ScoredSpan {
  let sum = 0;
  const start = Math.max(from, 1);
  for (let j = start; j < ids.length; j++) {
    const position = logprobs[j];
    if (!position || typeof position !== 'object') throw new InvalidLogprobError(j, 'no entry');
    const entry = position[String(ids[j] as number)];
    if (!entry || typeof entry !== 'object')
      throw new InvalidLogprobError(j, 'actual token missing');
    const lp = entry.logprob;
    if (typeof lp !== 'number' || !Number.isFinite(lp))
      throw new InvalidLogprobError(j, 'not a finite number');
    if (lp <= NEG_INF_SENTINEL) throw new InvalidLogprobError(j, '-inf');
    if (lp > 1e-6) throw new InvalidLogprobError(j, 'positive log-probability');
    sum += lp;
  }
  return { nll: -sum, tokens: Math.max(0, ids.length - start) };
}
