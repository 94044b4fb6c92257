/**
 * @module
 * Sums a compact backend answer (`ScoredChoice`) over the positions that count, with the same rules as
 * `sumPromptLogprobs`: a missing or non-finite logprob, vLLM's −∞ stand-in or a positive logprob is an error of
 * the text, never a number that silently becomes Infinity or NaN.
 */
import type { ScoredChoice } from '../backends/scored-choice.ts';
import { InvalidLogprobError, NEG_INF_SENTINEL } from '../scoring/logprobs.ts';
import type { ScoredSpan, TokenLogprob } from '../scoring/logprobs.ts';

/**
 * @param from first prompt position whose logprob counts (position 0 never has one)
 * @throws {InvalidLogprobError}
 */
export function sumScoredChoice(
  choice: ScoredChoice,
  from: number,
  withDetail: boolean,
): ScoredSpan {
  const { ids, logprobs, tokenTexts } = choice;
  const start = Math.max(from, 1);
  let sum = 0;
  for (let j = start; j < ids.length; j++) {
    const lp = logprobs[j] as number;
    // NaN (no entry) and ±Infinity both fail this test.
    if (!Number.isFinite(lp)) throw new InvalidLogprobError(j, 'no finite logprob for the token');
    if (lp <= NEG_INF_SENTINEL) throw new InvalidLogprobError(j, '-inf');
    if (lp > 1e-6) throw new InvalidLogprobError(j, 'positive log-probability');
    sum += lp;
  }
  const tokens = ids.length > start ? ids.length - start : 0;
  if (!withDetail) return { nll: -sum, tokens };
  const detail: TokenLogprob[] = [];
  for (let j = start; j < ids.length; j++) {
    detail.push({
      id: ids[j] as number,
      logprob: logprobs[j] as number,
      text: tokenTexts?.[j] ?? null,
    });
  }
  return { nll: -sum, tokens, detail };
}
