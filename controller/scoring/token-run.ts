/**
 * @module
 * A model's scored tokens of one text, in typed arrays: what the detection figures and `token_details` are made
 * from. No object per token exists until a response shows them.
 */
import { concatTokenTexts, tokenTextsOf } from '../backends/token-texts.ts';
import type { TokenTexts } from '../backends/token-texts.ts';

export interface TokenRun {
  /** Token ids of the scored positions. */
  readonly ids: Int32Array;
  /** Natural-log probability of each token (≤ 0). */
  readonly logprobs: Float64Array;
  /** Each token decoded alone, as the backend returned it. */
  readonly texts: TokenTexts;
}

/** The runs of a text scored in several windows, one after the other, in an exactly sized copy. */
export function concatRuns(runs: readonly TokenRun[]): TokenRun {
  let n = 0;
  for (const r of runs) n += r.ids.length;
  const ids = new Int32Array(n);
  const logprobs = new Float64Array(n);
  let at = 0;
  for (const r of runs) {
    ids.set(r.ids, at);
    logprobs.set(r.logprobs, at);
    at += r.ids.length;
  }
  return { ids, logprobs, texts: concatTokenTexts(runs.map((r) => r.texts)) };
}

/** A run from one object per token (tests, and callers holding `token_details` from the wire). */
export function runOfTokens(
  tokens: readonly { logprob: number; text: string | null; id?: number }[],
): TokenRun {
  const ids = new Int32Array(tokens.length);
  const logprobs = new Float64Array(tokens.length);
  tokens.forEach((t, k) => {
    ids[k] = t.id ?? 0;
    logprobs[k] = t.logprob;
  });
  return { ids, logprobs, texts: tokenTextsOf(tokens.map((t) => t.text)) };
}
