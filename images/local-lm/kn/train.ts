/**
 * @module
 * Counts n-grams over token-id documents and freezes them into an interpolated modified Kneser-Ney model
 * (Chen & Goodman 1998). Adjusted counts follow the usual rule: raw counts for top-order n-grams and for n-grams
 * that start at a document start (they have no left context), continuation counts N1+(• g) for the rest.
 */
import type { NgramData } from './ngram-data.ts';

/** Fallback discounts when a depth has too few singletons/doubletons to estimate them. */
const FALLBACK_DISCOUNTS = [0.5, 1.0, 1.5] as const;

/**
 * Trains a model. Each document must start with the model's prefix token (BOS, or EOS for GPT-style tokenizers),
 * which is context only: it is never predicted.
 */
export function trainNgram(
  docs: readonly ArrayLike<number>[],
  order: number,
  vocabSize: number,
): NgramData {
  if (!Number.isInteger(order) || order < 1 || order > 8)
    throw new Error(`order must be 1..8, got ${order}`);
  const V = vocabSize;
  const childMap = new Map<number, number>();
  const parent: number[] = [0];
  const depthOf: number[] = [0];
  // gramCounts[d]: key node*V + token, for histories of length d.
  const gramCounts: Map<number, number>[] = Array.from({ length: order }, () => new Map());

  for (const doc of docs) {
    for (let i = 1; i < doc.length; i++) {
      const w = doc[i]!;
      if (w < 0 || w >= V) throw new Error(`token id ${w} outside the vocabulary of ${V}`);
      const L = Math.min(order - 1, i);
      let node = 0;
      for (let d = 1; d <= L; d++) {
        const key = node * V + doc[i - d]!;
        let child = childMap.get(key);
        if (child === undefined) {
          child = parent.length;
          childMap.set(key, child);
          parent.push(node);
          depthOf.push(d);
        }
        node = child;
      }
      const top = gramCounts[L]!;
      const key = node * V + w;
      top.set(key, (top.get(key) ?? 0) + 1);
    }
  }

  // Continuation counts: every distinct gram "x h w" at depth d adds one left context to "h w" at depth d − 1.
  // A gram starting with the prefix token never collides with these (that token occurs only at position 0).
  for (let d = order - 1; d >= 1; d--) {
    const lower = gramCounts[d - 1]!;
    for (const key of gramCounts[d]!.keys()) {
      const node = Math.floor(key / V);
      const lkey = parent[node]! * V + (key - node * V);
      lower.set(lkey, (lower.get(lkey) ?? 0) + 1);
    }
  }

  const discounts = new Float64Array(order * 3);
  for (let d = 0; d < order; d++) discounts.set(estimateDiscounts(gramCounts[d]!.values()), d * 3);

  return freeze(order, V, parent.length, childMap, depthOf, gramCounts, discounts);
}

/** Chen & Goodman's closed-form estimates from the counts of counts, clamped so that 0 < D(c) < c. */
function estimateDiscounts(counts: Iterable<number>): number[] {
  const n = [0, 0, 0, 0, 0];
  for (const c of counts) if (c <= 4) n[c]!++;
  const [, n1, n2, n3, n4] = n as [number, number, number, number, number];
  if (n1 === 0 || n2 === 0 || n3 === 0 || n4 === 0) return [...FALLBACK_DISCOUNTS];
  const y = n1 / (n1 + 2 * n2);
  const clamp = (v: number, lo: number, hi: number, fb: number) =>
    Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fb;
  return [
    clamp(1 - (2 * y * n2) / n1, 0.05, 0.95, FALLBACK_DISCOUNTS[0]),
    clamp(2 - (3 * y * n3) / n2, 0.1, 1.9, FALLBACK_DISCOUNTS[1]),
    clamp(3 - (4 * y * n4) / n3, 0.1, 2.9, FALLBACK_DISCOUNTS[2]),
  ];
}

function freeze(
  order: number,
  V: number,
  nodeCount: number,
  childMap: Map<number, number>,
  depthOf: number[],
  gramCounts: Map<number, number>[],
  discounts: Float64Array,
): NgramData {
  let total = 0;
  for (const m of gramCounts) total += m.size;
  const keys = new Float64Array(total);
  let k = 0;
  for (const m of gramCounts) for (const key of m.keys()) keys[k++] = key;
  keys.sort();

  const followStart = new Int32Array(nodeCount + 1);
  const followTok = new Int32Array(total);
  const followCount = new Int32Array(total);
  const nodeTotal = new Float64Array(nodeCount);
  const nodeGamma = new Float64Array(nodeCount);
  const nodeDepth = new Uint8Array(nodeCount);
  const nk = [0, 0, 0];
  let cur = -1;
  const closeNode = (node: number) => {
    const d = nodeDepth[node]!;
    const mass =
      discounts[d * 3]! * nk[0]! + discounts[d * 3 + 1]! * nk[1]! + discounts[d * 3 + 2]! * nk[2]!;
    nodeGamma[node] = nodeTotal[node]! > 0 ? mass / nodeTotal[node]! : 1;
  };
  for (let n = 0; n < nodeCount; n++) nodeDepth[n] = depthOf[n]!;
  for (let i = 0; i < total; i++) {
    const key = keys[i]!;
    const node = Math.floor(key / V);
    if (node !== cur) {
      if (cur >= 0) closeNode(cur);
      for (let n = cur + 1; n <= node; n++) followStart[n] = i;
      cur = node;
      nk[0] = nk[1] = nk[2] = 0;
    }
    const c = gramCounts[nodeDepth[node]!]!.get(key)!;
    followTok[i] = key - node * V;
    followCount[i] = c;
    nodeTotal[node]! += c;
    nk[c >= 3 ? 2 : c - 1]!++;
  }
  if (cur >= 0) closeNode(cur);
  for (let n = cur + 1; n <= nodeCount; n++) followStart[n] = total;
  // Nodes without followers (cannot happen for trained histories, but keep the invariant explicit).
  for (let n = 0; n < nodeCount; n++) if (nodeTotal[n] === 0) nodeGamma[n] = 1;

  const childKeys = new Float64Array(childMap.size);
  k = 0;
  for (const key of childMap.keys()) childKeys[k++] = key;
  childKeys.sort();
  const childIds = new Int32Array(childKeys.length);
  for (let i = 0; i < childKeys.length; i++) childIds[i] = childMap.get(childKeys[i]!)!;

  return {
    order,
    vocabSize: V,
    childKeys,
    childIds,
    followStart,
    followTok,
    followCount,
    nodeTotal,
    nodeGamma,
    nodeDepth,
    discounts,
  };
}
