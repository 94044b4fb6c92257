/**
 * @module
 * The compact form of a scoring answer: per prompt, its token ids (Int32Array) and the logprob of each actual
 * token (Float64Array). It is all the scheduler needs, and it can be read straight out of the response text
 * (`fast-completion-parser.ts`) without building the object-per-position graph that `JSON.parse` makes,
 * which is most of the controller's CPU and garbage on large batches.
 */
import { tokenTextsOf } from '../scoring/token-texts.ts';
import type { TokenTexts } from '../scoring/token-texts.ts';
import type { CompletionChoice } from './vllm-types.ts';

export interface ScoredChoice {
  /** `prompt_token_ids` (token ids of every vocabulary in use fit in 31 bits). */
  readonly ids: Int32Array;
  /**
   * Logprob of the actual token at each position (`ids[j]`, looked up by id, never by key order); NaN where the
   * backend gave none (position 0, a missing entry, a null or non-number value).
   */
  readonly logprobs: Float64Array;
  /** The backend's decoded text of each actual token, when asked for (the detection figures need them). */
  readonly texts?: TokenTexts;
}

/** Converts a fully parsed choice (the `JSON.parse` path) to the compact form. */
export function toScoredChoice(choice: CompletionChoice, withTokenTexts: boolean): ScoredChoice {
  const ids = Int32Array.from(choice.prompt_token_ids);
  const logprobs = new Float64Array(ids.length);
  const texts: (string | null)[] | undefined = withTokenTexts ? new Array(ids.length) : undefined;
  for (let j = 0; j < ids.length; j++) {
    const position = choice.prompt_logprobs[j];
    const entry =
      position && typeof position === 'object' ? position[String(ids[j] as number)] : undefined;
    const lp = entry && typeof entry === 'object' ? entry.logprob : undefined;
    logprobs[j] = typeof lp === 'number' ? lp : NaN;
    if (texts) {
      const decoded = entry && typeof entry === 'object' ? entry.decoded_token : undefined;
      texts[j] = typeof decoded === 'string' ? decoded : null;
    }
  }
  return texts ? { ids, logprobs, texts: tokenTextsOf(texts) } : { ids, logprobs };
}
