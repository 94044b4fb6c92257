/**
 * @module
 * Makes a calibration file for whatever models an endpoint serves: scores the fit split of the shipped
 * reference corpus through it and fits the reference distributions.
 */
import { buildCalibration } from '../../controller/calibration/build-calibration.ts';
import type { CalibrationFile } from '../../controller/calibration/calibration-file.ts';
import {
  REFERENCE_CORPUS_NAME,
  REFERENCE_CORPUS_VERSION,
  loadReferenceCorpus,
} from '../../controller/calibration/reference-corpus.ts';
import { calibrationSample } from '../../controller/scoring/text-surprisal.ts';
import { deploymentModels, scoreForDetection } from './detection-scoring.ts';
import type { Endpoint, ScoredText } from './detection-scoring.ts';

/** Window lengths (characters) that get a reference distribution. */
export const CALIBRATED_WINDOW_CHARS: readonly number[] = [16, 32, 64, 128, 256];

export interface CalibrateOptions {
  readonly onProgress?: (done: number, total: number) => void;
  /** Limit the corpus (tests). @default every fit text */
  readonly maxTexts?: number;
}

export interface CalibrateResult {
  file: CalibrationFile;
  /** The fit texts as scored, for callers that go on to measure (the benchmark). */
  scored: ScoredText[];
}

export async function calibrate(
  endpoint: Endpoint,
  options: CalibrateOptions = {},
): Promise<CalibrateResult> {
  const models = await deploymentModels(endpoint);
  const corpus = loadReferenceCorpus();
  const fit = evenlySpaced(
    corpus.texts.filter((t) => t.split === 'fit'),
    options.maxTexts,
  );
  const scored = await scoreForDetection(
    endpoint,
    fit.map((t) => t.text),
    {
      weights: new Map(models.map((m) => [m.name, m.weight])),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  const names = new Set(models.map((m) => m.name));
  // A reference text counts only when every model scored it: the distributions are of the full ensemble.
  const complete = scored.filter((s) => s.models.length === names.size);
  const samples = complete.map((s) => calibrationSample(s.text, s.models, CALIBRATED_WINDOW_CHARS));
  const file = buildCalibration({
    samples,
    models,
    windowChars: CALIBRATED_WINDOW_CHARS,
    corpus: {
      name: REFERENCE_CORPUS_NAME,
      version: REFERENCE_CORPUS_VERSION,
      sha256: corpus.sha256,
      texts: samples.length,
      split: 'fit',
    },
  });
  return { file, scored: complete };
}

/** Up to `max` items spread over the whole list (the corpus is ordered by source, so a prefix is not a sample). */
function evenlySpaced<T>(items: readonly T[], max: number | undefined): T[] {
  if (max === undefined || max >= items.length) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)] as T);
}
