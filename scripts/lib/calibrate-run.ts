/**
 * @module
 * Makes a calibration file for whatever models an endpoint serves: scores the fit split of the shipped
 * reference corpus through it over HTTP and fits the reference distributions (controller/calibration/
 * make-calibration.ts, the same code a controller runs when it makes its own).
 */
import { makeCalibration } from '../../controller/calibration/make-calibration.ts';
import type { MadeCalibration } from '../../controller/calibration/make-calibration.ts';
import { deploymentModels, scoreBatchOverHttp } from './detection-scoring.ts';
import type { Endpoint } from './detection-scoring.ts';

export { CALIBRATED_WINDOW_CHARS } from '../../controller/calibration/make-calibration.ts';

export interface CalibrateOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /** Limit the corpus (tests). @default every fit text */
  readonly maxTexts?: number;
}

export type CalibrateResult = MadeCalibration;

export async function calibrate(
  endpoint: Endpoint,
  options: CalibrateOptions = {},
): Promise<CalibrateResult> {
  const models = await deploymentModels(endpoint);
  return makeCalibration({
    models,
    scoreBatch: scoreBatchOverHttp(endpoint, new Map(models.map((m) => [m.name, m.weight]))),
    ...options,
  });
}
