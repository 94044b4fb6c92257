/**
 * @module
 * Reads a scored text's result (the wire shape, scored with detail) into what the detection math takes: each
 * answering model's tokens, weight and bits per byte. The API's detection figures, the calibration a controller
 * makes of itself and the one `npm run calibrate` makes over HTTP all read results this one way.
 */
import type { TextResult } from '../api/schemas.ts';
import type { AnsweredModel } from './detection-figures.ts';

/**
 * The models that answered for a scored text with their tokens (scored with detail), ready for `detectText` and
 * calibration samples. Models without tokens are left out.
 * @param weights ensemble weight per model name (missing: 1)
 */
export function answeredModels(
  result: TextResult,
  weights: ReadonlyMap<string, number>,
): AnsweredModel[] {
  const answered: AnsweredModel[] = [];
  for (const name of result.ensemble?.models_used ?? []) {
    const m = result.models[name];
    if (m && 'token_details' in m && m.token_details) {
      answered.push({
        name,
        weight: weights.get(name) ?? 1,
        tokens: m.token_details,
        bits_per_byte: m.bits_per_byte,
      });
    }
  }
  return answered;
}
