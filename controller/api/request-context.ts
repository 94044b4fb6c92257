/**
 * @module
 * The request's `ScoringTally` on the Hono context, shared by the scoring routes (which fill it in), the
 * request log and the request metrics (which read it).
 */
import type { Context } from 'hono';
import { ScoringTally } from '../observability/scoring-tally.ts';

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
