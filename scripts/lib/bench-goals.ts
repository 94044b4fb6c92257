/**
 * @module
 * A benchmark's goals: each one a limit, the measured value and whether this run met it, printed one per line
 * so a reader sees at a glance what holds and what does not.
 */

export interface Goal {
  name: string;
  /** The limit (the measured value must be ≤ it), in `unit`. */
  limit: number;
  unit: string;
  measured: number;
  met: boolean;
}

export function goal(name: string, limit: number, unit: string, measured: number): Goal {
  return { name, limit, unit, measured, met: Number.isFinite(measured) && measured <= limit };
}

/** `name: measured unit (goal ≤ limit unit): met | NOT met`, one line per goal. */
export function formatGoals(goals: readonly Goal[]): string[] {
  return goals.map(
    (g) =>
      `  ${g.name}: ${g.measured} ${g.unit} (goal ≤ ${g.limit} ${g.unit}): ${g.met ? 'met' : 'NOT met'}`,
  );
}
