import { describe, expect, it } from 'vitest';
import {
  SurprisalSums,
  maxWindow,
  runsAbove,
} from '../../../controller/scoring/surprisal-windows.ts';

const LN2 = Math.LN2;

/** The running sums of per-character values. */
function running(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length + 1);
  for (let i = 0; i < values.length; i++) out[i + 1] = (out[i] as number) + (values[i] as number);
  return out;
}

/** Windows over per-character surprisal (nats) and UTF-8 bytes. */
function ofCharacters(surprisal: Float64Array, bytes: Uint8Array): SurprisalSums {
  return new SurprisalSums(running(surprisal), running(bytes));
}

/** Surprisal in bits per character (all ASCII: one byte each), converted to nats. */
function sums(bits: number[]): SurprisalSums {
  return ofCharacters(
    Float64Array.from(bits, (b) => b * LN2),
    new Uint8Array(bits.length).fill(1),
  );
}

describe('surprisal windows', () => {
  it('finds the window with the highest bits per byte', () => {
    const s = sums([1, 1, 1, 9, 9, 1, 1, 1]);
    expect(maxWindow(s, 2)).toEqual({ start: 3, end: 5, bits_per_byte: 9 });
    const w3 = maxWindow(s, 3);
    expect(w3.start).toBe(2);
    expect(w3.bits_per_byte).toBeCloseTo(19 / 3, 12);
  });

  it('clips the window to a text shorter than it', () => {
    expect(maxWindow(sums([2, 4]), 64)).toEqual({ start: 0, end: 2, bits_per_byte: 3 });
  });

  it('divides by UTF-8 bytes, not characters', () => {
    const s = ofCharacters(Float64Array.from([8 * LN2, 8 * LN2]), Uint8Array.from([1, 3]));
    expect(s.bitsPerByte(0, 2)).toBeCloseTo(4, 12);
  });

  it('merges overlapping windows above the threshold into runs', () => {
    const s = sums([0, 0, 0, 8, 8, 0, 0, 0, 0, 0, 8, 0]);
    const runs = runsAbove(s, 2, 3);
    expect(runs.map((r) => [r.start, r.end])).toEqual([
      [2, 6],
      [9, 12],
    ]);
    expect(runs[0]?.bits_per_byte).toBeCloseTo(4, 12);
    expect(runs[0]?.peak_bits_per_byte).toBeCloseTo(8, 12);
    expect(runsAbove(s, 2, 100)).toEqual([]);
  });
});
