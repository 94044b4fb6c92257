/**
 * @module
 * One model's verdict on one text, as the scheduler hands it to the ensemble.
 */
import type { TokenRun } from '../scoring/token-run.ts';

export interface ModelTextScore {
  /** −Σ ln p over every text token. */
  readonly nll: number;
  /** Scored tokens. */
  readonly tokens: number;
  /** Context windows the text was scored in. */
  readonly windows: number;
  /** The scored tokens, when the request needs them (detection figures, `details: "tokens"`). */
  readonly run?: TokenRun;
}

/** A text's outcome for one model: a score (and whether it came from the cache) or why there is none. */
export type TextOutcome =
  | { readonly ok: true; readonly score: ModelTextScore; readonly cached: boolean }
  | { readonly ok: false; readonly error: unknown };
