/**
 * @module
 * Reading token log-probabilities out of a vLLM `prompt_logprobs` list. The logprob of the actual token is taken
 * by its id (`dict[String(id)]`), never by key order: vLLM writes the actual token first, then the top-k
 * (`vllm/logprobs.py`, https://github.com/vllm-project/vllm), but a JS object lists integer-like keys in
 * ascending order (https://tc39.es/ecma262/#sec-ordinaryownpropertykeys), so the first key need not be it.
 */
import { tokenTextsOf } from './token-texts.ts';
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
  const start = Math.max(from, 1);
  const tokens = Math.max(0, ids.length - start);
  const run = withDetail
    ? {
        ids: new Int32Array(tokens),
        logprobs: new Float64Array(tokens),
        texts: [] as (string | null)[],
      }
    : undefined;
  for (let j = start; j < ids.length; j++) {
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
    if (run) {
      run.ids[j - start] = id;
      run.logprobs[j - start] = lp;
      run.texts.push(typeof entry.decoded_token === 'string' ? entry.decoded_token : null);
    }
  }
  if (!run) return { nll: -sum, tokens };
  return { nll: -sum, tokens, run: { ...run, texts: tokenTextsOf(run.texts) } };
}
