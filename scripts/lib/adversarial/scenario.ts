/**
 * @module
 * What an adversarial scenario is: a named attack or failure run against a controller on loopback, bounded in
 * time and count, reporting figures. `scripts/bench-adversarial.ts` runs the list in `index.ts`.
 */
import type { AdversarialTarget, TargetOptions } from './target.ts';

/** One measured number. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What it means, or the bound it was checked against. */
  readonly note?: string;
}

export interface ScenarioContext {
  /**
   * Starts a fresh controller (its own process, its own key store with one key) in front of the run's local
   * backends. The scenario closes it.
   */
  startTarget(options?: TargetOptions): Promise<AdversarialTarget>;
  /** Progress lines, on stderr. */
  log(message: string): void;
}

export interface AdversarialScenario {
  /** Short id, used by `--scenarios`. */
  readonly id: string;
  /** What is measured, for the report. */
  readonly title: string;
  run(context: ScenarioContext): Promise<Figure[]>;
}
