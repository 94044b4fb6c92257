/**
 * A wrong secret must cost what a right one costs: verification hashes the presented key and compares digests
 * with crypto.timingSafeEqual, whatever the outcome. Checked twice: the comparison really goes through
 * timingSafeEqual (spy), and the measured cost of right and wrong keys agrees (medians, wide bounds).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const spy = vi.hoisted(() => ({ calls: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual: typeof original.timingSafeEqual = (a, b) => {
    spy.calls += 1;
    return original.timingSafeEqual(a, b);
  };
  return { ...original, default: { ...original, timingSafeEqual }, timingSafeEqual };
});

const { generateKey } = await import('../../../controller/auth/key-format.ts');
const { KeyRing } = await import('../../../controller/auth/key-ring.ts');
const { forgeKeyWithId } = await import('./forge-key.ts');

describe('key ring timing', () => {
  const right = generateKey();
  const wrongSecret = forgeKeyWithId(right.id);
  const unknownId = generateKey().key;
  let ring: InstanceType<typeof KeyRing>;

  beforeAll(async () => {
    ring = new KeyRing({
      store: {
        description: 'memory:',
        load: async () => ({
          version: 1,
          keys: [{ id: right.id, name: 't', hash: right.hash, createdAt: '2026-11-28T00:00:00Z' }],
        }),
        save: async () => undefined,
        update: () => Promise.reject(new Error('read-only store')),
      },
    });
    await ring.start();
  });
  afterAll(() => ring.stop());

  it('compares hashes with timingSafeEqual for right, wrong-secret and unknown-id keys alike', () => {
    for (const [key, ok] of [
      [right.key, true],
      [wrongSecret, false],
      [unknownId, false],
    ] as const) {
      const before = spy.calls;
      expect(ring.verify(key).ok).toBe(ok);
      expect(spy.calls - before).toBe(1);
    }
  });

  it('takes the same time for a right key and a well-formed wrong key (medians)', () => {
    const rounds = 301;
    const perRound = 200;
    const measure = (key: string): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) ring.verify(key);
      return Number(process.hrtime.bigint() - t0);
    };
    // Warm up the JIT on both paths before measuring.
    for (let i = 0; i < 20; i++) {
      measure(right.key);
      measure(wrongSecret);
    }
    const rightNs: number[] = [];
    const wrongNs: number[] = [];
    // Interleaved, alternating order, so drifts in machine load hit both series equally.
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        rightNs.push(measure(right.key));
        wrongNs.push(measure(wrongSecret));
      } else {
        wrongNs.push(measure(wrongSecret));
        rightNs.push(measure(right.key));
      }
    }
    const ratio = median(wrongNs) / median(rightNs);
    console.info(
      `verify median per call: right ${(median(rightNs) / perRound).toFixed(0)} ns, ` +
        `wrong secret ${(median(wrongNs) / perRound).toFixed(0)} ns, ratio ${ratio.toFixed(3)}`,
    );
    // An early-exit comparison would not show up at this scale anyway (both paths hash ~65 bytes); the wide
    // bound guards against a real asymmetry (e.g. skipping the hash for unknown secrets) without flaking.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
