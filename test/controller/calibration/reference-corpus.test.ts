import { describe, expect, it } from 'vitest';
import { loadReferenceCorpus } from '../../../controller/calibration/reference-corpus.ts';
import { sharesShingle, trainingShingles } from '../../../scripts/build-reference-corpus.ts';

describe('reference corpus', () => {
  const { texts } = loadReferenceCorpus();
  const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

  it('has at least 2,000 texts of mixed length in both splits', () => {
    expect(texts.length).toBeGreaterThanOrEqual(2000);
    const fit = texts.filter((t) => t.split === 'fit');
    expect(fit.length).toBeGreaterThan(1000);
    expect(texts.length - fit.length).toBeGreaterThan(1000);
    for (const split of [fit, texts.filter((t) => t.split === 'held_out')]) {
      expect(split.filter((t) => words(t.text) <= 30).length).toBeGreaterThan(500);
      expect(split.filter((t) => words(t.text) >= 300).length).toBeGreaterThan(200);
    }
    expect(new Set(texts.map((t) => t.id)).size).toBe(texts.length);
  });

  it("shares no 12-word sequence with the local models' training text", { timeout: 60_000 }, () => {
    const shingles = trainingShingles();
    expect(shingles.size).toBeGreaterThan(100_000);
    const overlapping = texts.filter((t) => sharesShingle(shingles, t.text));
    expect(overlapping.map((t) => t.id)).toEqual([]);
  });
});
