/**
 * @module
 * The shipped reference corpus: public-domain English texts of mixed length that calibration scores through a
 * deployment's own models. Built by `scripts/build-reference-corpus.ts`; see the corpus README for sources.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export interface ReferenceText {
  id: string;
  source: 'factbook' | 'sotu';
  /** `fit`: calibration is fit on it; `held_out`: kept for measuring false-positive rates and detection. */
  split: 'fit' | 'held_out';
  text: string;
}

/**
 * The corpus file, gzip'd and in base64, put in by the bundler (scripts/build-bundle.ts): a host runs the
 * single-file bundle, which has no corpus file beside it, and makes its own calibration from this.
 */
declare const __EP_REFERENCE_CORPUS_GZIP__: string | undefined;

export const REFERENCE_CORPUS_NAME = 'ep-reference-en';
export const REFERENCE_CORPUS_VERSION = '1';
export const REFERENCE_CORPUS_PATH = fileURLToPath(
  new URL('./corpus/reference-corpus.jsonl', import.meta.url),
);

export interface LoadedCorpus {
  texts: ReferenceText[];
  /** Hex SHA-256 of the file, recorded in calibration files. */
  sha256: string;
}

/** @param path a corpus file @default the shipped corpus (embedded in the bundle, else read from its file) */
export function loadReferenceCorpus(path?: string): LoadedCorpus {
  const raw =
    path === undefined && typeof __EP_REFERENCE_CORPUS_GZIP__ === 'string'
      ? gunzipSync(Buffer.from(__EP_REFERENCE_CORPUS_GZIP__, 'base64')).toString('utf8')
      : readFileSync(path ?? REFERENCE_CORPUS_PATH, 'utf8');
  const texts = raw
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as ReferenceText);
  return { texts, sha256: createHash('sha256').update(raw).digest('hex') };
}
