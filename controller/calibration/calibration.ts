/**
 * @module
 * A loaded calibration file in use: percentiles of a text against reference texts of similar length, the
 * ensemble's calibrated position, and thresholds for a requested false-positive rate.
 *
 * What it promises: on texts like the reference corpus (natural prose of the same lengths), scored by the same
 * models, a flag at `fpr` fires on about that share of texts. What it does not: texts of another genre or
 * language have other distributions, so their false-positive rate may be far from `fpr`.
 */
import { bucketIndex, ensemblePosition } from './build-calibration.ts';
import type { CalibrationFile } from './calibration-file.ts';
import { exceedanceThreshold, percentileOf, zScore } from './distribution.ts';
import type { Distribution } from './distribution.ts';
import { modelSetMismatch } from './model-set.ts';
import type { ModelFingerprint } from './model-set.ts';

/** A figure placed against its reference distribution. */
export interface Position {
  /** 0–100: share of reference texts of similar length at or below this figure. */
  percentile: number;
  /** Robust z-score against the same texts (unbounded). */
  z: number;
}

export type FlagReason = 'text' | 'window';

export class CalibrationMismatchError extends Error {
  override name = 'CalibrationMismatchError';
}

export class Calibration {
  readonly file: CalibrationFile;
  readonly #models: ReadonlySet<string>;

  constructor(file: CalibrationFile) {
    this.file = file;
    this.#models = new Set(file.models.map((m) => m.name));
  }

  /**
   * Refuses a file made for other models. @throws {CalibrationMismatchError}
   */
  static forModels(file: CalibrationFile, current: readonly ModelFingerprint[]): Calibration {
    const why = modelSetMismatch(file.models, current);
    if (why) throw new CalibrationMismatchError(`calibration refused: ${why}`);
    return new Calibration(file);
  }

  hasModel(name: string): boolean {
    return this.#models.has(name);
  }

  /** Index of a calibrated window size, or −1. */
  windowIndex(windowChars: number): number {
    return this.file.window_chars.indexOf(windowChars);
  }

  bucket(bytes: number): number {
    return bucketIndex(this.file.bucket_max_bytes, bytes);
  }

  /** One model's whole-text bits per byte against the reference; null for a model not calibrated. */
  modelText(name: string, bytes: number, bitsPerByte: number): Position | null {
    const dist = this.file.per_model[name]?.[this.bucket(bytes)]?.text;
    return dist ? place(dist, bitsPerByte) : null;
  }

  /** The ensemble's calibrated position from the models that answered (weighted mean of their z-scores). */
  ensembleText(
    bytes: number,
    models: readonly { name: string; bits_per_byte: number; weight: number }[],
  ): Position | null {
    const zs: { z: number; weight: number }[] = [];
    for (const m of models) {
      const p = this.modelText(m.name, bytes, m.bits_per_byte);
      if (p) zs.push({ z: p.z, weight: m.weight });
    }
    if (zs.length === 0) return null;
    const dist = this.file.ensemble.text[this.bucket(bytes)] as Distribution;
    return place(dist, ensemblePosition(zs));
  }

  /** The ensemble's max-window bits per byte against the reference; null for an uncalibrated window size. */
  ensembleWindow(bytes: number, windowChars: number, bitsPerByte: number): Position | null {
    const k = this.windowIndex(windowChars);
    if (k < 0) return null;
    return place(this.file.ensemble.window[k]?.[this.bucket(bytes)] as Distribution, bitsPerByte);
  }

  /**
   * The z threshold that flags `fpr` of the reference texts of this length: on max(text z, window z) for a
   * calibrated window size, on the text z alone otherwise.
   */
  flagThreshold(fpr: number, windowChars: number, bytes: number): number {
    return this.flagThresholdInBucket(fpr, windowChars, this.bucket(bytes));
  }

  flagThresholdInBucket(fpr: number, windowChars: number, bucket: number): number {
    const k = this.windowIndex(windowChars);
    const tail =
      k >= 0 ? this.file.flag_tail.combined[k]?.[bucket] : this.file.flag_tail.text[bucket];
    return exceedanceThreshold(tail as number[], fpr);
  }

  /** Why a text is flagged at `fpr` (empty: not flagged). */
  flagReasons(
    fpr: number,
    windowChars: number,
    bytes: number,
    text: Position | null,
    window: Position | null,
  ): FlagReason[] {
    const threshold = this.flagThreshold(fpr, windowChars, bytes);
    const reasons: FlagReason[] = [];
    if (text && text.z > threshold) reasons.push('text');
    if (window && window.z > threshold) reasons.push('window');
    return reasons;
  }

  /** Ensemble window bits per byte above which a window counts as unusual at `fpr`, for a text of `bytes`. */
  windowBitsThreshold(bytes: number, windowChars: number, fpr: number): number | null {
    const k = this.windowIndex(windowChars);
    if (k < 0) return null;
    const dist = this.file.ensemble.window[k]?.[this.bucket(bytes)] as Distribution;
    return dist.median + this.flagThreshold(fpr, windowChars, bytes) * dist.scale;
  }
}

function place(dist: Distribution, x: number): Position {
  return { percentile: percentileOf(dist, x), z: zScore(dist, x) };
}
