/**
 * @module
 * The frozen, array-only form of an interpolated Kneser-Ney n-gram model: what training produces, what the
 * disk cache stores and what scoring reads. Typed arrays only, so a model loads in milliseconds and stays small.
 *
 * Histories live in a trie that grows to the LEFT: node 0 is the empty history, and the child of node h for
 * token x is the history "x h". The backoff chain of a history (h, h minus its oldest token, …) is therefore one
 * root-to-node path, found with one lookup per order.
 */
export interface NgramData {
  /** n of the n-gram model (history length is at most order − 1). */
  order: number;
  vocabSize: number;
  /** Sorted keys `parentNode * vocabSize + token` of the history trie … */
  childKeys: Float64Array;
  /** … and the node each key leads to. */
  childIds: Int32Array;
  /** For node n, its followers are `followTok/followCount[followStart[n] .. followStart[n+1])`, sorted by token. */
  followStart: Int32Array;
  followTok: Int32Array;
  /** Adjusted counts: raw counts at the top order (and for histories starting at a text start), else continuation counts. */
  followCount: Int32Array;
  /** Sum of the node's follower counts. */
  nodeTotal: Float64Array;
  /** Interpolation weight given to the shorter history: (D1·N1 + D2·N2 + D3+·N3+) / total. */
  nodeGamma: Float64Array;
  /** Depth (history length) of each node. */
  nodeDepth: Uint8Array;
  /** Modified-KN discounts, three per depth: D1, D2, D3+. */
  discounts: Float64Array;
}

/** Discount for an adjusted count at a depth. */
export function discountFor(data: NgramData, depth: number, count: number): number {
  const k = count >= 3 ? 2 : count - 1;
  return data.discounts[depth * 3 + k] ?? 0;
}

/** Binary search in a sorted Float64Array; returns the index or -1. */
export function findSorted(keys: Float64Array, key: number, lo = 0, hi = keys.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = keys[mid]!;
    if (v < key) lo = mid + 1;
    else if (v > key) hi = mid;
    else return mid;
  }
  return -1;
}

/** Binary search for a token in a node's follower slice (sorted Int32 tokens); returns the index or -1. */
export function findFollower(data: NgramData, node: number, token: number): number {
  let lo = data.followStart[node]!;
  let hi = data.followStart[node + 1]!;
  const toks = data.followTok;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = toks[mid]!;
    if (v < token) lo = mid + 1;
    else if (v > token) hi = mid;
    else return mid;
  }
  return -1;
}

/** The child of a history node for one more (older) token, or -1. */
export function childOf(data: NgramData, node: number, token: number): number {
  const i = findSorted(data.childKeys, node * data.vocabSize + token);
  return i < 0 ? -1 : data.childIds[i]!;
}
