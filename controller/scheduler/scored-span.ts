/**
 * @module
 * Reads a compact backend answer for one prompt job: checks it is the answer to that prompt, and sums it (`ScoredChoice`) over the positions that count, with the same rules as
 * `sumPromptLogprobs`: a missing or non-finite logprob, vLLM's −∞ stand-in or a positive logprob is an error of
 * the text, never a number that silently becomes Infinity or NaN.
 */
import { BackendError } from '../backends/errors.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import type { ScoredChoice } from '../backends/scored-choice.ts';
import { InvalidLogprobError, NEG_INF_SENTINEL } from '../scoring/logprobs.ts';
import type { ScoredSpan } from '../scoring/logprobs.ts';
import { noTokenTexts, sliceTokenTexts } from '../scoring/token-texts.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import type { PromptJob } from './job-queue.ts';

/**
 * @param from first prompt position whose logprob counts (position 0 never has one)
 * @throws {InvalidLogprobError}
 */
export function sumScoredChoice(
  choice: ScoredChoice,
  from: number,
  withDetail: boolean,
): ScoredSpan {
  const { ids, logprobs, texts } = choice;
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
  // Views into the answer: nothing is copied per token.
  const first = Math.min(start, ids.length);
  const run = {
    ids: ids.subarray(first),
    logprobs: logprobs.subarray(first),
    texts: texts ? sliceTokenTexts(texts, first, ids.length) : noTokenTexts(tokens),
  };
  return { nll: -sum, tokens, run };
}

/**
 * Checks that a backend answer belongs to the job's prompt (token ids as sent; a text prompt starts with the
 * prefix token) and sums it.
 * @throws {BackendError} when the answer is for other tokens
 * @throws {TextScoringError} for an unusable logprob of the text
 */
export function readScoredChoice(
  job: PromptJob,
  choice: ScoredChoice,
  info: ModelInfo,
): ScoredSpan {
  const { ids } = choice;
  if (typeof job.prompt !== 'string') {
    const sent = job.prompt;
    let same = ids.length === sent.length;
    for (let i = 0; same && i < sent.length; i++) same = ids[i] === sent[i];
    if (!same) {
      throw new BackendError(
        'BACKEND_BAD_RESPONSE',
        'the backend scored other tokens than were sent',
        { backend: info.name },
      );
    }
  } else if (ids[0] !== info.prefixTokenId) {
    throw new BackendError(
      'BACKEND_BAD_RESPONSE',
      'the backend did not put the prefix token in front of the text',
      { backend: info.name },
    );
  }
  try {
    return sumScoredChoice(choice, job.scoreFrom, job.withDetail);
  } catch (err) {
    if (err instanceof InvalidLogprobError)
      throw new TextScoringError('invalid_logprob', err.message);
    throw err;
  }
}
