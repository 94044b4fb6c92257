/**
 * @module
 * Numbers as the page shows them.
 */

const SIGNIFICANT = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const FIXED_2 = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const FIXED_1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** Perplexities and other open-ended figures: four significant digits. */
export function figure(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : SIGNIFICANT.format(x);
}

/** Bits per byte or per character: two decimals. */
export function bits(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : FIXED_2.format(x);
}

/** A percentile, 0-100. */
export function percentile(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : FIXED_1.format(x);
}

/** A piece of text for a label: visible whitespace, at most `max` characters. */
export function excerpt(text: string, max = 40): string {
  const shown = text.replace(/\n/g, '⏎').replace(/\t/g, '⇥');
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
