/**
 * @module
 * Makes a calibration file for a model set: scores the fit split of the shipped reference corpus through those
 * models and fits the reference distributions. How a batch of texts gets scored is the caller's: over HTTP
 * against any endpoint (`npm run calibrate`, the local stack, the detection benchmark) or in-process through the
 * controller's own schedulers (`self-calibration.ts`). Everything after scoring is this one implementation.
 */
import { calibrationSample } from '../scoring/text-surprisal.ts';
import { buildCalibration } from './build-calibration.ts';
import type { CalibrationFile } from './calibration-file.ts';
import type { AnsweredModel } from './detection-figures.ts';
import type { ModelFingerprint } from './model-set.ts';
import {
  REFERENCE_CORPUS_NAME,
  REFERENCE_CORPUS_VERSION,
  loadReferenceCorpus,
} from './reference-corpus.ts';
import type { LoadedCorpus } from './reference-corpus.ts';

/** Window lengths (characters) that get a reference distribution. */
export const CALIBRATED_WINDOW_CHARS: readonly number[] = [16, 32, 64, 128, 256];

/** One text as scored: each answering model's tokens, weight and bits per byte. */
export interface ScoredText {
  readonly text: string;
  /** The models that answered; empty when the text has no result. */
  readonly models: AnsweredModel[];
}

/** Scores a batch of texts; the answer lists them in the order given. */
export type ScoreBatch = (texts: readonly string[]) => Promise<ScoredText[]>;

export interface BatchOptions {
  /** Texts per batch. @default 32 */
  readonly batch?: number;
  /** Batches in flight. @default 2 */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops handing out batches (the ones in flight finish or fail on their own). */
  readonly signal?: AbortSignal;
}

/** Scores texts batch by batch with a bounded number in flight; results in the order of `texts`. */
export async function scoreInBatches(
  texts: readonly string[],
  scoreBatch: ScoreBatch,
  options: BatchOptions = {},
): Promise<ScoredText[]> {
  const batch = options.batch ?? 32;
  const out = new Array<ScoredText>(texts.length);
  let next = 0;
  let done = 0;
  options.onProgress?.(0, texts.length);
  const worker = async () => {
    while (next < texts.length) {
      options.signal?.throwIfAborted();
      const start = next;
      next += batch;
      const slice = texts.slice(start, start + batch);
      const scored = await scoreBatch(slice);
      scored.forEach((s, i) => (out[start + i] = s));
      done += slice.length;
      options.onProgress?.(done, texts.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  return out;
}

export interface MakeCalibrationOptions extends BatchOptions {
  /** The model set the file is made for, with ensemble weights. */
  readonly models: readonly (ModelFingerprint & { weight: number })[];
  readonly scoreBatch: ScoreBatch;
  /** Limit the fit texts (tests, a quicker and coarser file). @default every fit text */
  readonly maxTexts?: number;
  /** @default the shipped reference corpus */
  readonly corpus?: LoadedCorpus;
}

export interface MadeCalibration {
  readonly file: CalibrationFile;
  /** The fit texts as scored, for callers that go on to measure (the benchmark). */
  readonly scored: ScoredText[];
}

/** Fit texts the calibration scores (`maxTexts` of them, spread over the whole split). */
export function fitTexts(corpus: LoadedCorpus, maxTexts?: number): string[] {
  return evenlySpaced(
    corpus.texts.filter((t) => t.split === 'fit'),
    maxTexts,
  ).map((t) => t.text);
}

/**
 * @throws {RangeError} when too few texts were scored by every model to fill each length bucket
 */
export async function makeCalibration(options: MakeCalibrationOptions): Promise<MadeCalibration> {
  const { models } = options;
  const corpus = options.corpus ?? loadReferenceCorpus();
  const scored = await scoreInBatches(fitTexts(corpus, options.maxTexts), options.scoreBatch, {
    ...(options.batch !== undefined ? { batch: options.batch } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  // A reference text counts only when every model scored it: the distributions are of the full ensemble.
  const complete = scored.filter((s) => s.models.length === models.length);
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
