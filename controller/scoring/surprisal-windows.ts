/**
 * @module
 * Windows over per-character surprisal: where in a text a model (or the ensemble) is most surprised, in bits
 * per UTF-8 byte so the figure compares across tokenizers and scripts. A window is `windowChars` consecutive
 * UTF-16 units; a text shorter than that has one window, the whole text. Everything is O(text length) with
 * prefix sums.
 */

/** A character range `[start, end)` (UTF-16 indices, end exclusive) and its bits per UTF-8 byte. */
export interface CharWindow {
  start: number;
  end: number;
  bits_per_byte: number;
}

/** Prefix sums of surprisal (nats) and bytes: the sums of any range in O(1). */
export class SurprisalSums {
  readonly length: number;
  readonly #nats: Float64Array;
  readonly #bytes: Float64Array;

  /**
   * @param nats surprisal of characters [0, i) at entry i (length characters + 1)
   * @param bytes UTF-8 bytes of characters [0, i) at entry i (may be shared by every model of a text)
   */
  constructor(nats: Float64Array, bytes: Float64Array) {
    if (nats.length !== bytes.length || nats.length === 0)
      throw new RangeError('surprisal and bytes must cover the same characters');
    this.length = nats.length - 1;
    this.#nats = nats;
    this.#bytes = bytes;
  }

  /** Bits per UTF-8 byte of the characters [start, end); 0 for an empty range. */
  bitsPerByte(start: number, end: number): number {
    const bytes = (this.#bytes[end] as number) - (this.#bytes[start] as number);
    if (!(bytes > 0)) return 0;
    return ((this.#nats[end] as number) - (this.#nats[start] as number)) / (bytes * Math.LN2);
  }
}

/** Window length actually used for a text: the requested one, clipped to the text. */
export function windowLength(textLength: number, windowChars: number): number {
  return Math.max(1, Math.min(windowChars, textLength));
}

/** The window with the highest bits per byte (the first one on ties). Requires a non-empty text. */
export function maxWindow(sums: SurprisalSums, windowChars: number): CharWindow {
  if (sums.length === 0) throw new RangeError('an empty text has no window');
  const w = windowLength(sums.length, windowChars);
  let best = 0;
  let bestBpb = -Infinity;
  for (let s = 0; s + w <= sums.length; s++) {
    const bpb = sums.bitsPerByte(s, s + w);
    if (bpb > bestBpb) {
      bestBpb = bpb;
      best = s;
    }
  }
  return { start: best, end: best + w, bits_per_byte: bestBpb };
}

/** A merged run of characters covered by windows above a threshold, with its highest window's score. */
export interface HotRun extends CharWindow {
  /** Bits per byte of the highest window inside the run. */
  peak_bits_per_byte: number;
}

/**
 * The maximal runs of characters covered by at least one window whose bits per byte exceed `threshold`;
 * overlapping and touching windows merge. Each run reports the bits per byte of its own characters and of its
 * highest window.
 */
export function runsAbove(sums: SurprisalSums, windowChars: number, threshold: number): HotRun[] {
  if (sums.length === 0) return [];
  const w = windowLength(sums.length, windowChars);
  const runs: HotRun[] = [];
  let open: { start: number; end: number; peak: number } | undefined;
  for (let s = 0; s + w <= sums.length; s++) {
    const bpb = sums.bitsPerByte(s, s + w);
    if (!(bpb > threshold)) continue;
    if (open && s <= open.end) {
      open.end = s + w;
      if (bpb > open.peak) open.peak = bpb;
    } else {
      if (open) runs.push(closeRun(sums, open));
      open = { start: s, end: s + w, peak: bpb };
    }
  }
  if (open) runs.push(closeRun(sums, open));
  return runs;
}

function closeRun(sums: SurprisalSums, run: { start: number; end: number; peak: number }): HotRun {
  return {
    start: run.start,
    end: run.end,
    bits_per_byte: sums.bitsPerByte(run.start, run.end),
    peak_bits_per_byte: run.peak,
  };
}
