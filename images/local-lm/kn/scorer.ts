/**
 * @module
 * Next-token distributions of a frozen KN model, with what vLLM reports per prompt position: the actual token's
 * log-prob, its vocabulary rank, and the top-k tokens.
 *
 * The full distribution at a history with backoff chain n_1 … n_L (depth 1 … L) is
 *   P(v) = Σ_d W_d · A_d(v) + G · P0(v),   A_d(v) = max(c_d(v) − D, 0) / total_d,   W_d = Π_{e>d} γ_e,  G = Π γ_e,
 * where P0 is the (static) unigram level already interpolated with the uniform distribution. Only the followers S
 * of n_1 … n_L get explicit terms; every other token is G · P0(v), whose order is known in advance. That makes
 * rank and top-k cost O(|S| + log V) per position instead of O(V).
 */
import type { PositionScore } from '../engines/model-engine.ts';
import { childOf, discountFor, findFollower, type NgramData } from './ngram-data.ts';

export class NgramScorer {
  readonly data: NgramData;
  /** Root-level distribution P0 over the vocabulary, and the vocabulary sorted by it (descending). */
  private readonly p0: Float64Array;
  private readonly p0Order: Int32Array;
  private readonly p0Sorted: Float64Array;
  // Scratch space reused by every position (the server is single-threaded).
  private readonly acc: Float64Array;
  private readonly mark: Int32Array;
  private readonly members: Int32Array;
  private stamp = 0;

  constructor(data: NgramData) {
    this.data = data;
    const V = data.vocabSize;
    this.p0 = new Float64Array(V);
    const g0 = data.nodeGamma[0]!;
    const tot0 = data.nodeTotal[0]!;
    for (let v = 0; v < V; v++) this.p0[v] = g0 / V;
    if (tot0 > 0) {
      for (let i = data.followStart[0]!; i < data.followStart[1]!; i++) {
        const c = data.followCount[i]!;
        this.p0[data.followTok[i]!] = (c - discountFor(data, 0, c)) / tot0 + g0 / V;
      }
    } else this.p0.fill(1 / V);
    const order = Array.from({ length: V }, (_, i) => i);
    order.sort((a, b) => this.p0[b]! - this.p0[a]! || a - b);
    this.p0Order = Int32Array.from(order);
    this.p0Sorted = Float64Array.from(order, (v) => this.p0[v]!);
    this.acc = new Float64Array(V);
    this.mark = new Int32Array(V);
    this.members = new Int32Array(V);
  }

  /** Backoff chain (nodes of depth 1…L) for predicting `tokens[pos]` from the tokens before it. */
  private chain(tokens: ArrayLike<number>, pos: number): number[] {
    const nodes: number[] = [];
    let node = 0;
    for (let d = 1; d < this.data.order && pos - d >= 0; d++) {
      node = childOf(this.data, node, tokens[pos - d]!);
      if (node < 0) break;
      nodes.push(node);
    }
    return nodes;
  }

  /**
   * Loads the explicit part of the distribution into `acc` for the members of S and returns |S| and G.
   * Members are `members[0..size)`; `mark[v] === stamp` tells membership.
   */
  private load(nodes: number[]): { size: number; g: number } {
    const d = this.data;
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.mark.fill(0);
      this.stamp = 1;
    }
    let size = 0;
    let w = 1;
    const { followStart, followTok, followCount, discounts } = d;
    const acc = this.acc;
    const mark = this.mark;
    const stamp = this.stamp;
    // Walk from the deepest node up so each level's weight W_d is the running product of the deeper γ's.
    for (let j = nodes.length - 1; j >= 0; j--) {
      const node = nodes[j]!;
      const depth = j + 1;
      const scale = w / d.nodeTotal[node]!;
      const d1 = discounts[depth * 3]!;
      const d2 = discounts[depth * 3 + 1]!;
      const d3 = discounts[depth * 3 + 2]!;
      const end = followStart[node + 1]!;
      for (let i = followStart[node]!; i < end; i++) {
        const v = followTok[i]!;
        const c = followCount[i]!;
        if (mark[v] !== stamp) {
          mark[v] = stamp;
          acc[v] = 0;
          this.members[size++] = v;
        }
        acc[v]! += scale * (c - (c === 1 ? d1 : c === 2 ? d2 : d3));
      }
      w *= d.nodeGamma[node]!;
    }
    return { size, g: w };
  }

  private probLoaded(v: number, g: number): number {
    return (this.mark[v] === this.stamp ? this.acc[v]! : 0) + g * this.p0[v]!;
  }

  /** Scores `tokens[pos]` given the tokens before it, with its rank and the top-k alternatives. */
  scorePosition(tokens: ArrayLike<number>, pos: number, k: number): PositionScore {
    const token = tokens[pos]!;
    const { size, g } = this.load(this.chain(tokens, pos));
    const p = this.probLoaded(token, g);
    return {
      token,
      logprob: Math.log(p),
      rank: this.rankLoaded(p, size, g),
      top: this.topLoaded(k, size, g),
    };
  }

  /** Most likely next token after `tokens` (greedy decoding). */
  argmaxNext(tokens: ArrayLike<number>): number {
    const { size, g } = this.load(this.chain(tokens, tokens.length));
    return this.topLoaded(1, size, g)[0]![0];
  }

  private rankLoaded(p: number, size: number, g: number): number {
    // Tokens outside S: those with g·P0 ≥ p form a prefix of the sorted order; S members in it are removed
    // there and counted by their full probability instead.
    let lo = 0;
    let hi = this.p0Sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (g * this.p0Sorted[mid]! >= p) lo = mid + 1;
      else hi = mid;
    }
    let rank = lo;
    const { acc, p0, members } = this;
    for (let i = 0; i < size; i++) {
      const v = members[i]!;
      const base = g * p0[v]!;
      if (acc[v]! + base >= p) rank++;
      if (base >= p) rank--;
    }
    return rank;
  }

  private topLoaded(k: number, size: number, g: number): [number, number][] {
    if (k <= 0) return [];
    if (k === 1) return [this.top1Loaded(size, g)];
    const best: [number, number][] = []; // [token, prob], kept sorted best-first, length ≤ k
    const offer = (v: number, p: number) => {
      if (best.length === k) {
        const last = best[k - 1]!;
        if (p < last[1] || (p === last[1] && v > last[0])) return;
        best.pop();
      }
      let i = best.length;
      while (i > 0 && (best[i - 1]![1] < p || (best[i - 1]![1] === p && best[i - 1]![0] > v))) i--;
      best.splice(i, 0, [v, p]);
    };
    for (let i = 0; i < size; i++) {
      const v = this.members[i]!;
      offer(v, this.acc[v]! + g * this.p0[v]!);
    }
    let taken = 0;
    for (let i = 0; i < this.p0Order.length && taken < k; i++) {
      const v = this.p0Order[i]!;
      if (this.mark[v] === this.stamp) continue;
      offer(v, g * this.p0[v]!);
      taken++;
    }
    return best.map(([v, p]) => [v, Math.log(p)]);
  }

  /** Top-1 without the general k-best bookkeeping (the common `prompt_logprobs: 1` and greedy cases). */
  private top1Loaded(size: number, g: number): [number, number] {
    const { acc, p0, members, mark, stamp } = this;
    let best = -1;
    let bestP = -1;
    for (let i = 0; i < size; i++) {
      const v = members[i]!;
      const q = acc[v]! + g * p0[v]!;
      if (q > bestP || (q === bestP && v < best)) {
        best = v;
        bestP = q;
      }
    }
    // Outside S the best is the first unmarked token of the static order.
    for (let i = 0; i < this.p0Order.length; i++) {
      const v = this.p0Order[i]!;
      if (mark[v] === stamp) continue;
      const q = g * p0[v]!;
      if (q > bestP || (q === bestP && v < best)) {
        best = v;
        bestP = q;
      }
      break;
    }
    return [best, Math.log(bestP)];
  }

  /** Full next-token distribution (O(V)); for tests and checks, not for serving. */
  distribution(tokens: ArrayLike<number>, pos: number): Float64Array {
    const { g } = this.load(this.chain(tokens, pos));
    const out = new Float64Array(this.data.vocabSize);
    for (let v = 0; v < out.length; v++) out[v] = this.probLoaded(v, g);
    return out;
  }

  /** P(token | history) by the textbook recursion (independent of the fast path above; used to check it). */
  probRecursive(history: readonly number[], token: number): number {
    const d = this.data;
    let p = 1 / d.vocabSize;
    const nodes = [0, ...this.chain([...history, token], history.length)];
    for (let depth = 0; depth < nodes.length; depth++) {
      const node = nodes[depth]!;
      const tot = d.nodeTotal[node]!;
      if (tot <= 0) continue;
      const i = findFollower(d, node, token);
      const c = i < 0 ? 0 : d.followCount[i]!;
      p = (c > 0 ? (c - discountFor(d, depth, c)) / tot : 0) + d.nodeGamma[node]! * p;
    }
    return p;
  }
}
