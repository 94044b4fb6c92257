/**
 * @module
 * `GET /v1/calibration`: the calibration file in force (corpus, size, date, model set, thresholds) or why there
 * is none, and the current model fingerprints.
 */
import { createRoute } from '@hono/zod-openapi';
import type { OpenAPIHono, z } from '@hono/zod-openapi';
import type { CalibrationSource } from '../../calibration/calibration-source.ts';
import { DEFAULT_WINDOW_CHARS } from '../../calibration/detection-figures.ts';
import type { ModelFingerprint } from '../../calibration/model-set.ts';
import type { SelfCalibration } from '../../calibration/self-calibration.ts';
import { CalibrationResponseSchema } from '../calibration-schemas.ts';

type CalibrationResponse = z.infer<typeof CalibrationResponseSchema>;

/** Rates listed in the description; any rate in (0, 0.5] can be requested. */
const LISTED_FPRS = [0.001, 0.01, 0.05, 0.1];

export function registerCalibrationRoute(
  app: OpenAPIHono,
  source: CalibrationSource,
  deployment: () => (ModelFingerprint & { weight: number })[] | null,
  maker?: SelfCalibration,
): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/calibration',
    summary: 'The calibration in force',
    description:
      'Which reference corpus and model set the percentiles and flags are calibrated on, and the thresholds they use. Make a file with `npm run calibrate`, or let the controller make its own (`calibration.makeIfMissing`).',
    responses: {
      200: {
        content: { 'application/json': { schema: CalibrationResponseSchema } },
        description: 'The calibration (or why there is none) and the current model set',
      },
    },
  });
  app.openapi(route, (c) => {
    const status = source.status;
    const cal = source.current;
    const made = maker?.status;
    const making = !cal && made?.state === 'making';
    const body: CalibrationResponse = {
      state: making ? 'making' : status.state,
      ...(making
        ? {
            message: `making a calibration from the reference corpus: ${made.textsDone ?? 0} of ${made.textsTotal ?? '?'} texts scored${status.message ? ` (${status.message})` : ''}`,
          }
        : status.message
          ? { message: status.message }
          : {}),
      default_window_chars: DEFAULT_WINDOW_CHARS,
      deployment: { models: deployment() },
    };
    if (made && made.attempts > 0) {
      body.self_calibration = {
        state: made.state,
        attempts: made.attempts,
        ...(made.textsDone !== undefined ? { texts_done: made.textsDone } : {}),
        ...(made.textsTotal !== undefined ? { texts_total: made.textsTotal } : {}),
        ...(made.lastError !== undefined ? { last_error: made.lastError } : {}),
        ...(made.nextAttemptAt !== undefined ? { next_attempt_at: made.nextAttemptAt } : {}),
      };
    }
    if (cal) {
      const f = cal.file;
      const bounds = [0, ...f.bucket_max_bytes];
      body.calibration = {
        format: f.format,
        version: f.version,
        created_at: f.created_at,
        corpus: f.corpus,
        models: f.models,
        window_chars: f.window_chars,
        buckets: bounds.map((min, b) => ({
          min_bytes: min,
          max_bytes: f.bucket_max_bytes[b] ?? null,
          texts: f.ensemble.text[b]?.n ?? 0,
        })),
        thresholds: f.window_chars.flatMap((w) =>
          bounds.flatMap((min, b) =>
            LISTED_FPRS.map((fpr) => ({
              fpr,
              window_chars: w,
              min_bytes: min,
              z: cal.flagThresholdInBucket(fpr, w, b),
            })),
          ),
        ),
      };
    }
    return c.json(body, 200);
  });
}
