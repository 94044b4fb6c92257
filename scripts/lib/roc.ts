/**
 * @module
 * Detection metrics: AUROC (the probability that a random positive scores above a random negative, ties
 * counting half) and the true-positive rate at a fixed false-positive rate.
 */

export function auroc(negatives: readonly number[], positives: readonly number[]): number {
  const all = [
    ...negatives.map((s) => ({ s, pos: false })),
    ...positives.map((s) => ({ s, pos: true })),
  ].sort((a, b) => a.s - b.s);
  // Mann–Whitney U from average ranks.
  let rankSumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && (all[j + 1] as { s: number }).s === (all[i] as { s: number }).s)
      j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if ((all[k] as { pos: boolean }).pos) rankSumPos += avgRank;
    i = j + 1;
  }
  const nP = positives.length;
  const nN = negatives.length;
  return (rankSumPos - (nP * (nP + 1)) / 2) / (nP * nN);
}

/** Share of positives above the threshold that lets through `fpr` of the negatives. */
export function tprAtFpr(
  negatives: readonly number[],
  positives: readonly number[],
  fpr: number,
): number {
  const sorted = [...negatives].sort((a, b) => b - a);
  // The largest threshold with at most fpr · n negatives strictly above it.
  const allowed = Math.floor(fpr * sorted.length);
  const threshold = sorted[allowed] as number;
  return positives.filter((p) => p > threshold).length / positives.length;
}
