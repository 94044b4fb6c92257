/**
 * @module
 * The calibration file: reference distributions of the deployment's own models over a reference corpus, by
 * text length, and the pooled tail that turns a requested false-positive rate into a threshold. JSON, versioned,
 * validated with zod on load so a truncated or foreign file is refused with a clear message.
 */
import { z } from 'zod';
import type { Distribution } from './distribution.ts';
import type { ModelFingerprint } from './model-set.ts';

export const CALIBRATION_FORMAT = 'ensembled-perplexity-calibration';
export const CALIBRATION_VERSION = 1;

const DistributionSchema = z.object({
  n: z.int().min(1),
  median: z.number(),
  scale: z.number().positive(),
  values: z.array(z.number()).min(1),
});

/** Figures of one length bucket. Window arrays follow `window_chars`. */
const BucketStatsSchema = z.object({
  /** Whole-text bits per byte. */
  text: DistributionSchema,
  /** Max-window bits per byte, one per window size. */
  window: z.array(DistributionSchema),
});

const FingerprintSchema = z.object({
  name: z.string().min(1),
  served_name: z.string().min(1),
  max_model_len: z.int().positive(),
  prefix_token_id: z.int().min(0),
  golden_nll_per_token: z.number().nonnegative(),
});

export const CalibrationFileSchema = z
  .object({
    format: z.literal(CALIBRATION_FORMAT),
    version: z.literal(CALIBRATION_VERSION),
    created_at: z.string(),
    corpus: z.object({
      name: z.string(),
      version: z.string(),
      sha256: z.string(),
      /** Texts the distributions were fit on. */
      texts: z.int().positive(),
      split: z.string(),
    }),
    models: z.array(FingerprintSchema.extend({ weight: z.number().positive() })).min(1),
    /** Window sizes (UTF-16 units) with a reference distribution. */
    window_chars: z.array(z.int().positive()).min(1),
    /** Upper bounds (UTF-8 bytes, exclusive) of the length buckets; the last bucket is open. */
    bucket_max_bytes: z.array(z.int().positive()),
    per_model: z.record(z.string(), z.array(BucketStatsSchema)),
    ensemble: z.object({
      /** The ensemble's calibrated position: weighted mean of the models' z-scores, per bucket. */
      text: z.array(DistributionSchema),
      /** Max-window ensemble bits per byte, per window size, per bucket. */
      window: z.array(z.array(DistributionSchema)),
    }),
    /**
     * Per window size and bucket: max(text z, window z) of each reference text, ascending; and per bucket the
     * text z alone. Their upper quantiles are the flag thresholds, so each length bucket is flagged at the
     * requested rate.
     */
    flag_tail: z.object({
      combined: z.array(z.array(z.array(z.number()).min(1))),
      text: z.array(z.array(z.number()).min(1)),
    }),
  })
  .superRefine((file, ctx) => {
    const buckets = file.bucket_max_bytes.length + 1;
    const sizes = file.window_chars.length;
    const bad = (message: string) => ctx.addIssue({ code: 'custom', message });
    for (const m of file.models) {
      const stats = file.per_model[m.name];
      if (!stats || stats.length !== buckets)
        bad(`per_model.${m.name} must have ${buckets} buckets`);
      else if (stats.some((b) => b.window.length !== sizes))
        bad(`per_model.${m.name}: one window distribution per window size`);
    }
    if (file.ensemble.text.length !== buckets) bad(`ensemble.text must have ${buckets} buckets`);
    if (
      file.ensemble.window.length !== sizes ||
      file.ensemble.window.some((w) => w.length !== buckets)
    )
      bad('ensemble.window must have one list of buckets per window size');
    if (file.flag_tail.combined.length !== sizes)
      bad('flag_tail.combined needs one list per window size');
  });

export type CalibrationFile = z.infer<typeof CalibrationFileSchema>;
export type { Distribution, ModelFingerprint };

export class CalibrationFileError extends Error {
  override name = 'CalibrationFileError';
}

/** Parses and validates a calibration file's text. @throws {CalibrationFileError} */
export function parseCalibrationFile(json: string): CalibrationFile {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new CalibrationFileError(`the calibration file is not JSON: ${(err as Error).message}`);
  }
  if (raw && typeof raw === 'object' && 'version' in raw && raw.version !== CALIBRATION_VERSION) {
    throw new CalibrationFileError(
      `calibration file version ${String(raw.version)} is not supported (this controller reads version ${CALIBRATION_VERSION}); make a new one with npm run calibrate`,
    );
  }
  const parsed = CalibrationFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new CalibrationFileError(
      `not a valid calibration file: ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
