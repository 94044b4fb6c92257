/**
 * @module
 * Finishes one text's result for the response: the detection figures (percentiles, `max_window`, spans,
 * flags) from the tokens every model returned, and `token_details` only when the request asked for tokens.
 * The whole-request and streaming routes both call it, so a text gets the same fields either way.
 */
import { tokenText } from '../scoring/token-texts.ts';
import { answeredModels } from '../calibration/answered-models.ts';
import type { Calibration } from '../calibration/calibration.ts';
import { DEFAULT_WINDOW_CHARS, detectText } from '../calibration/detection-figures.ts';
import type { AnsweredModel, DetectionOptions } from '../calibration/detection-figures.ts';
import { ApiError } from './errors.ts';
import { placeTokens } from '../scoring/token-alignment.ts';
import type { TokenPlacement } from '../scoring/token-alignment.ts';
import { ScratchArrays } from '../scoring/scratch.ts';
import type { TokenRun } from '../scoring/token-run.ts';
import type { TextResult, TokenDetail } from './schemas.ts';

export interface ResultDetailsOptions {
  /** `details` includes "tokens". */
  readonly tokens: boolean;
  readonly detection: DetectionOptions;
  /** Ensemble weight per model name (missing: 1). */
  readonly weights: ReadonlyMap<string, number>;
  readonly calibration: Calibration | null;
}

/** The working arrays of `finishResult`: one text at a time (it is synchronous), so one set serves them all. */
const scratch = new ScratchArrays();

/**
 * Adds the detection figures, and `token_details` when asked for, to a text's result.
 * @param runs the scored tokens of the models in the text's ensemble
 */
export function finishResult(
  result: TextResult,
  text: string,
  runs: ReadonlyMap<string, TokenRun>,
  options: ResultDetailsOptions,
): void {
  const ensemble = result.ensemble;
  if (!ensemble) return;
  scratch.reset();
  // Placed once: the detection figures and the token offsets share it.
  const answered: AnsweredModel[] = answeredModels(result, runs, options.weights).map((m) => ({
    ...m,
    placement: placeTokens(text, m.run.texts, scratch),
  }));
  if (options.tokens) {
    for (const m of answered) {
      const figures = result.models[m.name];
      if (figures && !('error' in figures) && m.placement)
        figures.token_details = tokenDetails(m.run, m.placement);
    }
  }
  if (answered.length === 0) return;
  const d = detectText(text, answered, options.detection, options.calibration, scratch);
  Object.assign(ensemble, d.ensemble);
  for (const [name, figures] of Object.entries(d.models)) {
    const m = result.models[name];
    if (m && !('error' in m)) Object.assign(m, figures);
  }
}

/** One object per token, with its character offset (null where it could not be placed). */
function tokenDetails(run: TokenRun, placement: TokenPlacement): TokenDetail[] {
  const out = new Array<TokenDetail>(run.ids.length);
  for (let k = 0; k < out.length; k++) {
    const offset = placement.offsets[k] as number;
    out[k] = {
      id: run.ids[k] as number,
      logprob: run.logprobs[k] as number,
      text: tokenText(run.texts, k),
      offset: offset < 0 ? null : offset,
    };
  }
  return out;
}

/** The request fields that shape a result, as validated. */
export interface DetailRequest {
  details: 'none' | 'tokens' | 'spans' | ('tokens' | 'spans')[];
  window_chars?: number | undefined;
  flag_fpr?: number | undefined;
}

/**
 * Reads the request's detail options against the calibration in force.
 * @throws {ApiError} 503 `calibration_unavailable` for `flag_fpr` or spans without a calibration
 */
export function detailOptions(
  body: DetailRequest,
  calibration: Calibration | null,
  weights: ReadonlyMap<string, number>,
): ResultDetailsOptions {
  const asked = new Set(Array.isArray(body.details) ? body.details : [body.details]);
  const spans = asked.has('spans');
  if (!calibration && (spans || body.flag_fpr !== undefined)) {
    throw new ApiError(
      503,
      'calibration_unavailable',
      'no calibration is in force, so flag_fpr and details "spans" are unavailable; see GET /v1/calibration',
      { param: body.flag_fpr !== undefined ? 'flag_fpr' : 'details' },
    );
  }
  const windowChars = body.window_chars ?? DEFAULT_WINDOW_CHARS;
  if (spans && calibration && calibration.windowIndex(windowChars) < 0) {
    throw new ApiError(
      400,
      'invalid_request',
      `window_chars: details "spans" needs a calibrated window length, one of ${calibration.file.window_chars.join(', ')}`,
      { param: 'window_chars' },
    );
  }
  return {
    tokens: asked.has('tokens'),
    detection: {
      windowChars,
      spans,
      ...(body.flag_fpr !== undefined ? { flagFpr: body.flag_fpr } : {}),
    },
    weights,
    calibration,
  };
}
