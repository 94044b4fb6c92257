/**
 * @module
 * Schema of `GET /v1/calibration`: the calibration in force (or why there is none) and the fingerprints of the
 * models this controller serves, which `npm run calibrate` records in the file it makes.
 */
import { z } from '@hono/zod-openapi';

const FingerprintSchema = z.object({
  name: z.string(),
  served_name: z.string(),
  max_model_len: z.int(),
  prefix_token_id: z.int(),
  golden_nll_per_token: z.number().openapi({
    description:
      'NLL per token (nats) of a fixed probe text: identifies the weights and revision the model serves',
  }),
  weight: z.number().openapi({ description: 'ensemble weight' }),
});

const ThresholdSchema = z.object({
  fpr: z.number().openapi({ description: 'false-positive rate on the reference texts' }),
  window_chars: z.int(),
  min_bytes: z
    .int()
    .openapi({ description: 'the length bucket (UTF-8 bytes) the threshold applies to' }),
  z: z.number().openapi({
    description:
      'flag when the text z or the max-window z (robust z-scores against reference texts of similar length) exceeds this',
  }),
});

export const CalibrationResponseSchema = z
  .object({
    state: z.enum(['none', 'pending', 'loaded', 'refused', 'making']).openapi({
      description:
        '`loaded`: percentiles and flags are available. `none`: no file yet. `pending`: waiting for every model to be discovered. `refused`: the file is damaged or was made for other models (see `message`). `making`: no calibration is in force and the controller is making one (`calibration.makeIfMissing`; progress in `self_calibration`)',
    }),
    message: z.string().optional(),
    default_window_chars: z
      .int()
      .openapi({ description: 'window length when a request gives none' }),
    calibration: z
      .object({
        format: z.string(),
        version: z.int(),
        created_at: z.string().openapi({ description: 'when the file was made (ISO 8601)' }),
        corpus: z.object({
          name: z.string(),
          version: z.string(),
          sha256: z.string(),
          texts: z.int().openapi({ description: 'reference texts the distributions were fit on' }),
          split: z.string(),
        }),
        models: z.array(FingerprintSchema),
        window_chars: z.array(z.int()).openapi({
          description: 'window lengths with a reference distribution (percentiles, spans)',
        }),
        buckets: z
          .array(
            z.object({
              min_bytes: z.int(),
              max_bytes: z
                .int()
                .nullable()
                .openapi({ description: 'exclusive; null: no upper bound' }),
              texts: z.int(),
            }),
          )
          .openapi({
            description: 'length buckets (UTF-8 bytes): percentiles compare within a bucket',
          }),
        thresholds: z.array(ThresholdSchema),
      })
      .optional(),
    self_calibration: z
      .object({
        state: z.enum(['idle', 'making', 'waiting', 'gave_up']).openapi({
          description:
            '`making`: scoring the reference corpus now. `waiting`: the last attempt failed (`last_error`), another starts at `next_attempt_at`. `gave_up`: no more attempts until the controller restarts. `idle`: the last attempt put its file in force',
        }),
        attempts: z.int().openapi({ description: 'attempts since the controller started' }),
        texts_done: z.int().optional().openapi({ description: 'reference texts scored so far' }),
        texts_total: z.int().optional().openapi({ description: 'reference texts to score' }),
        last_error: z.string().optional(),
        next_attempt_at: z.string().optional().openapi({ description: 'ISO 8601' }),
      })
      .optional()
      .openapi({
        description:
          'present once the controller has tried to make its own calibration (`calibration.makeIfMissing`)',
      }),
    deployment: z.object({
      models: z.array(FingerprintSchema).nullable().openapi({
        description: 'the models this controller serves; null until every model is discovered',
      }),
    }),
  })
  .openapi('Calibration');
