/**
 * @module
 * The colour scale of the heatmap: surprisal in bits per character, cut into HEAT_LEVELS equal bands whose
 * width is a round number. The colours themselves live in the stylesheet (one light and one dark palette, each
 * ordered by lightness so the order reads without hue, as with the common colour-vision deficiencies).
 */

export const HEAT_LEVELS = 9;

export interface HeatScale {
  /** Width of one band, bits per character. */
  readonly step: number;
}

/** Round band widths: the legend reads 0, 0.5, 1, 1.5 … or 0, 2, 4, 6 …, never 0, 0.73, 1.46. */
const NICE_STEPS = [0.1, 0.2, 0.25, 0.5, 1, 1.25, 2, 2.5, 5, 10, 20, 50];

/**
 * A scale for these values (bits per character), shared by everything shown together so the same colour
 * means the same surprisal. The top band starts at or just above the 95th percentile, so a few extreme characters do not
 * wash out the rest.
 */
export function heatScale(values: Iterable<number>): HeatScale {
  const finite = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const high = finite.length ? (finite[Math.floor(0.95 * (finite.length - 1))] as number) : 0;
  const wanted = high / (HEAT_LEVELS - 1);
  const step = NICE_STEPS.find((s) => s >= wanted) ?? Math.ceil(wanted);
  return { step };
}

/** Band of a value: 0 (coolest) to HEAT_LEVELS − 1 (hottest, open-ended); -1 for a character with no figure. */
export function heatLevel(scale: HeatScale, bitsPerChar: number): number {
  if (!Number.isFinite(bitsPerChar)) return -1;
  return Math.max(0, Math.min(HEAT_LEVELS - 1, Math.floor(bitsPerChar / scale.step)));
}

/** The legend's bands: each from its lower edge; the last is open-ended (`to` undefined). */
export function heatBands(scale: HeatScale): { level: number; from: number; to?: number }[] {
  return Array.from({ length: HEAT_LEVELS }, (_, level) => {
    const from = round(level * scale.step);
    return level === HEAT_LEVELS - 1
      ? { level, from }
      : { level, from, to: round(from + scale.step) };
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
