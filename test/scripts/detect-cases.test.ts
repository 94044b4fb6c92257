import { describe, expect, it } from 'vitest';
import { ATTACK_KINDS, makeAttack } from '../../scripts/lib/detect-cases.ts';
import { auroc, tprAtFpr } from '../../scripts/lib/roc.ts';
import { seededRandom } from '../../scripts/lib/seeded-random.ts';

const BASE =
  'The committee met on Tuesday and agreed to publish its report before the end of the month.';

describe('detection benchmark cases', () => {
  it('are the same for the same seed and record what was inserted', () => {
    for (const kind of ATTACK_KINDS) {
      const a = makeAttack(kind, BASE, seededRandom(7));
      const b = makeAttack(kind, BASE, seededRandom(7));
      expect(a).toEqual(b);
      const inserted = a.text.slice(a.start, a.end);
      expect(a.text.slice(0, a.start - 1) + a.text.slice(a.end)).toBe(BASE);
      expect(inserted.length).toBeGreaterThan(10);
      if (kind === 'suffix') expect(a.end).toBe(a.text.length);
      if (kind === 'base64') expect(inserted).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
  });

  it('differ between seeds', () => {
    expect(makeAttack('suffix', BASE, seededRandom(1)).text).not.toBe(
      makeAttack('suffix', BASE, seededRandom(2)).text,
    );
  });
});

describe('ROC metrics', () => {
  it('computes AUROC with ties counting half', () => {
    expect(auroc([1, 2, 3], [4, 5])).toBe(1);
    expect(auroc([4, 5], [1, 2, 3])).toBe(0);
    expect(auroc([1, 2], [1, 2])).toBe(0.5);
    expect(auroc([1, 3], [2])).toBe(0.5);
  });

  it('takes the TPR at the threshold that lets through the allowed share of negatives', () => {
    const negatives = Array.from({ length: 100 }, (_, i) => i);
    // 1 % of 100 negatives: only the top one (99) may exceed the threshold, which is 98.
    expect(tprAtFpr(negatives, [98.5, 99.5, 50], 0.01)).toBeCloseTo(2 / 3, 12);
  });
});
