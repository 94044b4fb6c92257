/**
 * @module
 * A whole scoring answer in a few typed arrays: every prompt's token ids and logprobs laid end to end, where
 * each prompt starts, and (when asked for) every token's decoded text in one joined string. It is what a parse
 * worker hands back (the arrays are transferred, not copied), and `unpackChoices` gives each prompt its
 * `ScoredChoice` as views into them, without copying a token.
 */
import type { ScoredChoice } from './scored-choice.ts';
import { sliceTokenTexts } from '../scoring/token-texts.ts';
import type { TokenTexts } from '../scoring/token-texts.ts';

export interface PackedChoices {
  /** Prompt p's tokens are positions `starts[p]` … `starts[p + 1] − 1`; length prompts + 1. */
  readonly starts: Int32Array;
  readonly ids: Int32Array;
  readonly logprobs: Float64Array;
  /** Every position's decoded text, indexed like `ids`. */
  readonly texts?: TokenTexts;
}

/** Packs choices (in prompt order) into one set of arrays (token texts are left out). */
export function packChoices(choices: readonly ScoredChoice[]): PackedChoices {
  const starts = new Int32Array(choices.length + 1);
  let total = 0;
  for (let p = 0; p < choices.length; p++) {
    starts[p] = total;
    total += (choices[p] as ScoredChoice).ids.length;
  }
  starts[choices.length] = total;
  const ids = new Int32Array(total);
  const logprobs = new Float64Array(total);
  for (let p = 0; p < choices.length; p++) {
    const c = choices[p] as ScoredChoice;
    ids.set(c.ids, starts[p]);
    logprobs.set(c.logprobs, starts[p]);
  }
  return { starts, ids, logprobs };
}

/** Each prompt's choice, as views into the packed arrays. */
export function unpackChoices(packed: PackedChoices): ScoredChoice[] {
  const { starts, ids, logprobs, texts } = packed;
  const out = new Array<ScoredChoice>(starts.length - 1);
  for (let p = 0; p < out.length; p++) {
    const a = starts[p] as number;
    const b = starts[p + 1] as number;
    out[p] = texts
      ? {
          ids: ids.subarray(a, b),
          logprobs: logprobs.subarray(a, b),
          texts: sliceTokenTexts(texts, a, b),
        }
      : { ids: ids.subarray(a, b), logprobs: logprobs.subarray(a, b) };
  }
  return out;
}
