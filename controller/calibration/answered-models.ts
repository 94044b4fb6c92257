/**
 * @module
 * A scored text's models in the shape the detection math takes: each answering model's tokens, weight and bits
 * per byte. The calibration a controller makes of itself (tokens from the schedulers) and the one
 * `npm run calibrate` makes over HTTP (tokens from `token_details`) read results this one way.
 */
import type { TextResult } from '../api/schemas.ts';
import { runOfTokens } from '../scoring/token-run.ts';
import type { TokenRun } from '../scoring/token-run.ts';
import type { AnsweredModel } from './detection-figures.ts';

/**
 * The models of the text's ensemble that have scored tokens, in the ensemble's order.
 * @param runs each model's scored tokens
 * @param weights ensemble weight per model name (missing: 1)
 */
export function answeredModels(
  result: TextResult,
  runs: ReadonlyMap<string, TokenRun>,
  weights: ReadonlyMap<string, number>,
): AnsweredModel[] {
  const answered: AnsweredModel[] = [];
  for (const name of result.ensemble?.models_used ?? []) {
    const m = result.models[name];
    const run = runs.get(name);
    if (!m || 'error' in m || !run) continue;
    answered.push({ name, weight: weights.get(name) ?? 1, run, bits_per_byte: m.bits_per_byte });
  }
  return answered;
}

/** Each model's scored tokens as a response shows them (`details: "tokens"`). */
export function wireRuns(result: TextResult): Map<string, TokenRun> {
  const runs = new Map<string, TokenRun>();
  for (const [name, m] of Object.entries(result.models)) {
    if ('token_details' in m && m.token_details) runs.set(name, runOfTokens(m.token_details));
  }
  return runs;
}
