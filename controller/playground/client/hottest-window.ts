/**
 * @module
 * The stretch of `width` characters with the highest mean surprisal, found in the browser when the server does
 * not send its own `max_window` (older servers). Characters with no figure count as zero.
 */

export interface CharWindow {
  readonly start: number;
  readonly end: number;
  readonly bitsPerChar: number;
}

export function hottestWindow(perChar: ArrayLike<number>, width: number): CharWindow | undefined {
  const n = perChar.length;
  if (n === 0 || !(width > 0)) return undefined;
  const w = Math.min(Math.floor(width), n);
  let sum = 0;
  for (let i = 0; i < w; i++) sum += finite(perChar[i]);
  let best = sum;
  let bestStart = 0;
  for (let start = 1; start + w <= n; start++) {
    sum += finite(perChar[start + w - 1]) - finite(perChar[start - 1]);
    if (sum > best + 1e-9) {
      best = sum;
      bestStart = start;
    }
  }
  return { start: bestStart, end: bestStart + w, bitsPerChar: best / w };
}

function finite(x: number | undefined): number {
  return x !== undefined && Number.isFinite(x) ? x : 0;
}
