import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ResultCache, entryBytes, textDigest } from '../../../controller/scheduler/result-cache.ts';
import type { ModelTextScore } from '../../../controller/scheduler/text-score.ts';
import { runOfTokens } from '../../../controller/scoring/token-run.ts';
import { sliceTokenTexts, tokenText } from '../../../controller/scoring/token-texts.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and typed-array bytes in use after full collections. */
function liveBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function score(i: number, detailTokens = 0): ModelTextScore {
  const base = { nll: 10 + i / 7, tokens: 50 + (i % 5), windows: 1 };
  if (detailTokens === 0) return base;
  return {
    ...base,
    run: runOfTokens(
      Array.from({ length: detailTokens }, (_, j) => ({
        id: 1000 + ((i * 31 + j) % 30000),
        logprob: -(j % 13) / 3 - i / 1e6,
        text: ` w${(i + j) % 977}`,
      })),
    ),
  };
}

/** Fills a cache the way the scheduler does and compares its byte count with the heap it really took. */
function measure(entries: number, detailTokens: number): { accounted: number; measured: number } {
  const cache = new ResultCache(1 << 30);
  const ns = cache.namespace('model\u0000served\u00004096\u00001\u00000');
  const keys = Array.from({ length: entries }, (_, i) => `${ns}n${textDigest(`text number ${i}`)}`);
  const before = liveBytes();
  // Each score is made and dropped on the way in: only what the cache keeps stays alive.
  for (let i = 0; i < entries; i++) cache.set(keys[i] as string, score(i, detailTokens));
  const measured = liveBytes() - before;
  // The keys were alive before (the test holds them); in the server the cache holds the only reference.
  const keyBytes = keys.reduce((a, k) => a + 16 + Math.ceil(k.length / 8) * 8, 0);
  expect(cache.stats.entries).toBe(entries);
  return { accounted: cache.stats.bytes, measured: measured + keyBytes };
}

describe('result cache', () => {
  it("counts each entry's real heap size (keys, values and bookkeeping) within 25 %", () => {
    const plain = measure(20_000, 0);
    expect(plain.accounted / plain.measured).toBeGreaterThan(0.8);
    expect(plain.accounted / plain.measured).toBeLessThan(1.25);
    const detailed = measure(2_000, 50);
    expect(detailed.accounted / detailed.measured).toBeGreaterThan(0.8);
    expect(detailed.accounted / detailed.measured).toBeLessThan(1.25);
  });

  it('stays within its byte budget, evicting the least recently used', () => {
    const cache = new ResultCache(100 * 1024);
    const ns = cache.namespace('m');
    const keys = Array.from({ length: 2000 }, (_, i) => `${ns}n${textDigest(String(i))}`);
    keys.forEach((k, i) => cache.set(k, score(i)));
    expect(cache.stats.bytes).toBeLessThanOrEqual(100 * 1024);
    const perEntry = entryBytes({ nll: 1, tokens: 1, windows: 1 }, keys[0] as string);
    expect(cache.stats.entries).toBe(Math.floor((100 * 1024) / perEntry));
    expect(cache.get(keys[0] as string)).toBeUndefined();
    expect(cache.get(keys[1999] as string)).toEqual(score(1999));
  });

  it('keeps token details compactly and gives them back as they were', () => {
    const cache = new ResultCache(1 << 20);
    const key = `${cache.namespace('m')}t${textDigest('a text')}`;
    cache.set(key, score(3, 7));
    expect(cache.get(key)).toEqual(score(3, 7));
  });

  it('gives back token texts of any script, and tokens without text, as they were', () => {
    const cache = new ResultCache(1 << 20);
    const ns = cache.namespace('m');
    for (const texts of [
      [' caf', 'é', ' ok', null],
      [' 中文', '\u{1F600}', '', null, ' x'],
    ]) {
      const tokens = texts.map((text, k) => ({ id: 10 + k, logprob: -0.5 * k, text }));
      const key = `${ns}t${textDigest(texts.join('|'))}`;
      cache.set(key, { nll: 1, tokens: tokens.length, windows: 1, run: runOfTokens(tokens) });
      const run = cache.get(key)!.run!;
      expect(texts.map((_, k) => tokenText(run.texts, k))).toEqual(texts);
      expect([...run.ids]).toEqual(tokens.map((t) => t.id));
      expect([...run.logprobs]).toEqual(tokens.map((t) => t.logprob));
    }
  });

  it('keeps none of the backend answer a cached run was read from', () => {
    // Runs as the scheduler reads them: views into one answer's arrays and a slice of its joined texts.
    const entries = 200;
    const answerTokens = 20_000;
    const cache = new ResultCache(1 << 30);
    const ns = cache.namespace('m');
    const before = liveBytes();
    for (let i = 0; i < entries; i++) {
      const pieces = Array.from({ length: answerTokens }, (_, k) => ` w${(i * 7 + k) % 9973}`);
      const answer = runOfTokens(pieces.map((text, k) => ({ id: k, logprob: -1, text })));
      const run = {
        ids: answer.ids.subarray(100, 150),
        logprobs: answer.logprobs.subarray(100, 150),
        texts: sliceTokenTexts(answer.texts, 100, 150),
      };
      cache.set(`${ns}t${textDigest(String(i))}`, { nll: 50, tokens: 50, windows: 1, run });
    }
    const kept = liveBytes() - before;
    // An answer's texts alone are ~120 KB and its arrays ~320 KB; a cached run counts under 2 KB. Keeping a
    // slice of the answer's texts (a V8 sliced string points into its parent) measured ~125 KB per entry.
    expect(cache.stats.bytes / entries).toBeLessThan(2_048);
    expect(kept / entries).toBeLessThan(12_000);
    const got = cache.get(`${ns}t${textDigest('3')}`)!.run!;
    expect(tokenText(got.texts, 0)).toBe(` w${(3 * 7 + 100) % 9973}`);
    expect(got.ids[49]).toBe(149);
  });

  it('gives each model identity its own short namespace, and drops one model without the others', () => {
    const cache = new ResultCache(1 << 20);
    const a = cache.namespace('model-a\u0000served\u00004096');
    const b = cache.namespace('model-b\u0000served\u00004096');
    expect(cache.namespace('model-a\u0000served\u00004096')).toBe(a);
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThan(4);
    cache.set(`${a}n${textDigest('x')}`, score(1));
    cache.set(`${b}n${textDigest('x')}`, score(2));
    cache.deletePrefix(a);
    expect(cache.get(`${a}n${textDigest('x')}`)).toBeUndefined();
    expect(cache.get(`${b}n${textDigest('x')}`)).toEqual(score(2));
  });

  it('keys texts by a 32-byte digest: equal texts alike, different texts apart', () => {
    expect(textDigest('héllo')).toHaveLength(32);
    expect(textDigest('héllo')).toBe(textDigest('héllo'));
    expect(textDigest('hello')).not.toBe(textDigest('héllo'));
  });
});
