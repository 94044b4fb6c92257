/**
 * @module
 * The request's `ScoringTally` on the Hono context, shared by the scoring routes (which fill it in), the
 * request log and the request metrics (which read it).
 */
import type { Context } from 'hono';
import type { EnsembleResponse } from '../scheduler/ensemble-scorer.ts';
import { ScoringTally } from './scoring-tally.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** What the request scored; see `scoringTally`. */
    scoringTally: ScoringTally;
  }
}

/** The request's tally, created on first use. */
export function scoringTally(c: Context): ScoringTally {
  let tally = c.get('scoringTally');
  if (!tally) {
    tally = new ScoringTally();
    c.set('scoringTally', tally);
  }
  return tally;
}

/** The tally if some route created it (scoring requests only). */
export function existingScoringTally(c: Context): ScoringTally | undefined {
  return c.get('scoringTally');
}

/** Counts a finished whole-request response on the request's tally (per text, as a stream would). */
export function tallyResponse(c: Context, response: EnsembleResponse): void {
  const tally = scoringTally(c);
  for (const result of response.results) {
    const tokensByModel = new Map<string, number>();
    for (const [model, figures] of Object.entries(result.models)) {
      if ('tokens' in figures) tokensByModel.set(model, figures.tokens);
    }
    tally.addText(tokensByModel, result.ensemble?.degraded ?? false);
  }
}
