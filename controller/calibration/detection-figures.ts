/**
 * @module
 * The detection figures of one scored text: where the ensemble is most surprised (`max_window`), how unusual
 * the text and that window are against the reference corpus (percentiles), the unusual spans, and whether it
 * is flagged at a requested false-positive rate. Pure: the whole-request and streaming routes share it.
 */
import { maxWindow, runsAbove } from '../scoring/surprisal-windows.ts';
import type { CharWindow } from '../scoring/surprisal-windows.ts';
import { textSurprisal } from '../scoring/text-surprisal.ts';
import type { ModelTokens } from '../scoring/text-surprisal.ts';
import type { ArraySource } from '../scoring/scratch.ts';
import type { Calibration, FlagReason } from './calibration.ts';

/** Window length when the request names none; chosen from `npm run bench -- --detect` (see BENCHMARKS.md). */
export const DEFAULT_WINDOW_CHARS = 64;
/** False-positive rate of the span threshold when the request gives no `flag_fpr`. */
export const DEFAULT_SPAN_FPR = 0.01;

export interface DetectionOptions {
  readonly windowChars: number;
  readonly spans: boolean;
  /** Flag the text at this false-positive rate. */
  readonly flagFpr?: number;
}

export interface ScoredWindow extends CharWindow {
  /** 0–100 against reference texts of similar length; absent without a calibration for this window size. */
  percentile?: number;
}

export interface EnsembleDetection {
  /** Absent without a calibration. */
  percentile?: number;
  max_window: ScoredWindow;
  spans?: ScoredWindow[];
  flagged?: boolean;
  flag_reasons?: FlagReason[];
}

export interface ModelDetection {
  /** Absent without a calibration. */
  percentile?: number;
  max_window_bits_per_byte: number;
}

export interface TextDetection {
  ensemble: EnsembleDetection;
  models: Record<string, ModelDetection>;
}

/** A model that answered: its tokens, weight and whole-text bits per byte. */
export interface AnsweredModel extends ModelTokens {
  readonly bits_per_byte: number;
}

/**
 * @param models the models that answered (at least one), with their scored tokens
 * @param calibration the calibration in force, or null (percentiles are then left out; spans and flags need one)
 * @param arrays where the working arrays come from (nothing returned refers to them) @default - fresh ones
 */
export function detectText(
  text: string,
  models: readonly AnsweredModel[],
  options: DetectionOptions,
  calibration: Calibration | null,
  arrays?: ArraySource,
): TextDetection {
  const bytes = Buffer.byteLength(text, 'utf8');
  const surprisal = textSurprisal(text, models, arrays);
  const w = options.windowChars;

  const perModel: Record<string, ModelDetection> = {};
  for (const m of models) {
    const sums = surprisal.models.get(m.name);
    if (!sums) continue;
    const position = calibration?.modelText(m.name, bytes, m.bits_per_byte);
    perModel[m.name] = {
      ...(position ? { percentile: position.percentile } : {}),
      max_window_bits_per_byte: maxWindow(sums, w).bits_per_byte,
    };
  }

  const top = maxWindow(surprisal.ensemble, w);
  const textPos = calibration?.ensembleText(bytes, models) ?? null;
  const windowPos = calibration?.ensembleWindow(bytes, w, top.bits_per_byte) ?? null;
  const ensemble: EnsembleDetection = {
    ...(textPos ? { percentile: textPos.percentile } : {}),
    max_window: windowPos ? { ...top, percentile: windowPos.percentile } : top,
  };

  if (options.spans && calibration) {
    const threshold = calibration.windowBitsThreshold(
      bytes,
      w,
      options.flagFpr ?? DEFAULT_SPAN_FPR,
    );
    ensemble.spans =
      threshold === null
        ? []
        : runsAbove(surprisal.ensemble, w, threshold).map((run) => {
            const peak = calibration.ensembleWindow(bytes, w, run.peak_bits_per_byte);
            return {
              start: run.start,
              end: run.end,
              bits_per_byte: run.bits_per_byte,
              ...(peak ? { percentile: peak.percentile } : {}),
            };
          });
  }
  if (options.flagFpr !== undefined && calibration) {
    const reasons = calibration.flagReasons(options.flagFpr, w, bytes, textPos, windowPos);
    ensemble.flagged = reasons.length > 0;
    ensemble.flag_reasons = reasons;
  }
  return { ensemble, models: perModel };
}
