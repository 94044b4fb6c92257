/**
 * @module
 * Fits a calibration file to the samples of a reference corpus: per length bucket, each model's distribution
 * of whole-text and max-window bits per byte; the ensemble's calibrated position (weighted mean of the models'
 * z-scores) and max-window bits per byte; and the pooled tail of max(text z, window z) that turns a requested
 * false-positive rate into a threshold.
 */
import type { CalibrationSample } from '../scoring/text-surprisal.ts';
import { CALIBRATION_FORMAT, CALIBRATION_VERSION } from './calibration-file.ts';
import type { CalibrationFile } from './calibration-file.ts';
import { distributionOf, zScore } from './distribution.ts';
import type { Distribution } from './distribution.ts';
import type { ModelFingerprint } from './model-set.ts';

/** Length buckets by UTF-8 bytes: a line, a paragraph, a page, longer. */
export const DEFAULT_BUCKET_MAX_BYTES: readonly number[] = [160, 640, 2560];

export interface BuildCalibrationInput {
  readonly samples: readonly CalibrationSample[];
  readonly models: readonly (ModelFingerprint & { weight: number })[];
  readonly windowChars: readonly number[];
  readonly corpus: CalibrationFile['corpus'];
  readonly bucketMaxBytes?: readonly number[];
  readonly createdAt?: Date;
}

export function bucketIndex(bucketMaxBytes: readonly number[], bytes: number): number {
  let b = 0;
  while (b < bucketMaxBytes.length && bytes >= (bucketMaxBytes[b] as number)) b++;
  return b;
}

/** Weighted mean of the models' z-scores: the ensemble's calibrated position for one text. */
export function ensemblePosition(zs: readonly { z: number; weight: number }[]): number {
  let sum = 0;
  let weights = 0;
  for (const { z, weight } of zs) {
    sum += weight * z;
    weights += weight;
  }
  return sum / weights;
}

export function buildCalibration(input: BuildCalibrationInput): CalibrationFile {
  const bounds = [...(input.bucketMaxBytes ?? DEFAULT_BUCKET_MAX_BYTES)];
  const buckets = bounds.length + 1;
  const sizes = [...input.windowChars];
  const byBucket: CalibrationSample[][] = Array.from({ length: buckets }, () => []);
  for (const s of input.samples) byBucket[bucketIndex(bounds, s.bytes)]?.push(s);
  const empty = byBucket.findIndex((b) => b.length < 20);
  if (empty >= 0) {
    throw new RangeError(
      `length bucket ${empty} has ${byBucket[empty]?.length ?? 0} reference texts; at least 20 are needed`,
    );
  }

  const perModel: CalibrationFile['per_model'] = {};
  for (const m of input.models) {
    perModel[m.name] = byBucket.map((samples) => ({
      text: round(distributionOf(samples.map((s) => modelOf(s, m.name).bits_per_byte))),
      window: sizes.map((_, k) =>
        round(distributionOf(samples.map((s) => modelOf(s, m.name).max_window[k] as number))),
      ),
    }));
  }

  const positions = byBucket.map((samples, b) =>
    samples.map((s) =>
      ensemblePosition(
        input.models.map((m) => ({
          z: zScore(
            (perModel[m.name] as CalibrationFile['per_model'][string])[b]?.text as Distribution,
            modelOf(s, m.name).bits_per_byte,
          ),
          weight: m.weight,
        })),
      ),
    ),
  );
  const ensembleText = positions.map((p) => round(distributionOf(p)));
  const ensembleWindow = sizes.map((_, k) =>
    byBucket.map((samples) =>
      round(distributionOf(samples.map((s) => s.ensemble_max_window[k] as number))),
    ),
  );

  // Tails per bucket: a pooled threshold over-flags the lengths whose z-scores have heavier tails.
  const textTail: number[][] = byBucket.map(() => []);
  const combinedTail: number[][][] = sizes.map(() => byBucket.map(() => []));
  byBucket.forEach((samples, b) => {
    samples.forEach((s, i) => {
      const zText = zScore(ensembleText[b] as Distribution, positions[b]?.[i] as number);
      textTail[b]?.push(zText);
      sizes.forEach((_, k) => {
        const zWin = zScore(
          ensembleWindow[k]?.[b] as Distribution,
          s.ensemble_max_window[k] as number,
        );
        combinedTail[k]?.[b]?.push(Math.max(zText, zWin));
      });
    });
  });

  return {
    format: CALIBRATION_FORMAT,
    version: CALIBRATION_VERSION,
    created_at: (input.createdAt ?? new Date()).toISOString(),
    corpus: input.corpus,
    models: input.models.map((m) => ({ ...m })),
    window_chars: sizes,
    bucket_max_bytes: bounds,
    per_model: perModel,
    ensemble: { text: ensembleText, window: ensembleWindow },
    flag_tail: {
      combined: combinedTail.map((perBucket) => perBucket.map(sortRounded)),
      text: textTail.map(sortRounded),
    },
  };
}

function modelOf(s: CalibrationSample, name: string) {
  const m = s.models[name];
  if (!m) throw new RangeError(`a reference sample has no figures for model ${name}`);
  return m;
}

/** Six significant digits keep the file small and far finer than GPU jitter. */
function r6(x: number): number {
  return Number(x.toPrecision(6));
}

function round(d: Distribution): Distribution {
  return { n: d.n, median: r6(d.median), scale: r6(d.scale), values: d.values.map(r6) };
}

function sortRounded(values: number[]): number[] {
  return values
    .filter(Number.isFinite)
    .sort((a, b) => a - b)
    .map(r6);
}
