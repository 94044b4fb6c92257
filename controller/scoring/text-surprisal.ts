/**
 * @module
 * One text's per-character surprisal for each model that answered and for the ensemble, ready for window
 * queries. This is the raw material of `max_window`, spans and calibration samples.
 */
import {
  cumulativeBytes,
  cumulativeSurprisal,
  ensembleSurprisal,
  placeTokens,
} from './token-alignment.ts';
import type { TokenPlacement } from './token-alignment.ts';
import { SurprisalSums, maxWindow } from './surprisal-windows.ts';
import { FRESH_ARRAYS } from './scratch.ts';
import type { ArraySource } from './scratch.ts';
import type { TokenRun } from './token-run.ts';

/** A model that answered for the text: its scored tokens and ensemble weight. */
export interface ModelTokens {
  readonly name: string;
  readonly weight: number;
  readonly run: TokenRun;
  /** Where the tokens lie in the text, when the caller placed them already. @default - placed here */
  readonly placement?: TokenPlacement;
}

export interface TextSurprisal {
  /** Per model, in the order given. */
  readonly models: ReadonlyMap<string, SurprisalSums>;
  readonly ensemble: SurprisalSums;
}

/**
 * Requires a non-empty text and at least one model with a positive weight.
 * @param arrays where the arrays come from (scratch arrays: the result is only good until they are reset)
 */
export function textSurprisal(
  text: string,
  models: readonly ModelTokens[],
  arrays: ArraySource = FRESH_ARRAYS,
): TextSurprisal {
  // Running sums throughout: the ensemble's running sum is the weighted mean of the models' (sums are linear),
  // and every model of the text shares the bytes.
  const bytes = cumulativeBytes(text, arrays);
  const perModel = new Map<string, SurprisalSums>();
  const weighted = models.map((m) => {
    const placement = m.placement ?? placeTokens(text, m.run.texts, arrays);
    const surprisal = cumulativeSurprisal(text, m.run, placement, arrays);
    perModel.set(m.name, new SurprisalSums(surprisal, bytes));
    return { surprisal, weight: m.weight };
  });
  return {
    models: perModel,
    ensemble: new SurprisalSums(ensembleSurprisal(weighted, arrays), bytes),
  };
}

/** What calibration records about one reference text: raw figures, before any reference distribution. */
export interface CalibrationSample {
  /** UTF-8 bytes of the text. */
  bytes: number;
  /** Per model: whole-text bits per byte and max-window bits per byte for each window size. */
  models: Record<string, { bits_per_byte: number; max_window: number[] }>;
  /** The ensemble's max-window bits per byte for each window size. */
  ensemble_max_window: number[];
}

export function calibrationSample(
  text: string,
  models: readonly ModelTokens[],
  windowSizes: readonly number[],
): CalibrationSample {
  const surprisal = textSurprisal(text, models);
  const sample: CalibrationSample = {
    bytes: Buffer.byteLength(text, 'utf8'),
    models: {},
    ensemble_max_window: windowSizes.map((w) => maxWindow(surprisal.ensemble, w).bits_per_byte),
  };
  for (const [name, sums] of surprisal.models) {
    sample.models[name] = {
      bits_per_byte: sums.bitsPerByte(0, sums.length),
      max_window: windowSizes.map((w) => maxWindow(sums, w).bits_per_byte),
    };
  }
  return sample;
}
