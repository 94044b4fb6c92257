import { describe, expect, it } from 'vitest';
import { decodeNgram, encodeNgram } from '../../../images/local-lm/kn/serialize.ts';
import { NgramScorer } from '../../../images/local-lm/kn/scorer.ts';
import { getTokenizer, trainModel } from '../../../images/local-lm/index.ts';

const CORPUS = [
  'The cat sat on the mat. The dog sat on the log.',
  'A cat and a dog met on the road, and the cat ran away from the dog.',
  'The old ship sailed on the sea. The sea was calm and the ship was slow.',
  'On the mat the cat slept, and on the log the dog slept too.',
].join('\n\n');

describe('interpolated Kneser-Ney model', () => {
  const model = trainModel({ name: 'tiny', tokenizer: 'llama', order: 3, corpus: CORPUS });
  const scorer = model.scorer;
  const text = [1, ...model.tokenizer.encode('the cat sat on a zebra in the sea', false)];

  it('gives every vocabulary token a non-zero probability that sums to 1 for any context', () => {
    for (let pos = 1; pos <= text.length; pos++) {
      const dist = scorer.distribution(text, pos);
      let sum = 0;
      let min = Infinity;
      for (const p of dist) {
        sum += p;
        min = Math.min(min, p);
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-9);
      expect(min).toBeGreaterThan(0);
    }
  });

  it('fast path agrees with the textbook recursion', () => {
    for (let pos = 1; pos < text.length; pos++) {
      const fast = scorer.scorePosition(text, pos, 0).logprob;
      const slow = Math.log(scorer.probRecursive(text.slice(0, pos), text[pos]!));
      expect(fast).toBeCloseTo(slow, 12);
    }
  });

  it('rank and top-k match a brute-force sort of the full distribution', () => {
    for (let pos = 1; pos < text.length; pos++) {
      const dist = scorer.distribution(text, pos);
      const s = scorer.scorePosition(text, pos, 5);
      const p = dist[text[pos]!]!;
      const rank = dist.reduce((n, q) => n + (q >= p ? 1 : 0), 0);
      expect(s.rank).toBe(rank);
      const order = Array.from(dist.keys()).sort((a, b) => dist[b]! - dist[a]! || a - b);
      expect(s.top.map(([t]) => t)).toEqual(order.slice(0, 5));
      for (const [t, lp] of s.top) expect(lp).toBeCloseTo(Math.log(dist[t]!), 12);
      expect(scorer.scorePosition(text, pos, 1).top.map(([t]) => t)).toEqual(order.slice(0, 1));
      expect(scorer.argmaxNext(text.slice(0, pos))).toBe(order[0]);
    }
  });

  it('prefers seen word orders', () => {
    const ll = (ids: number[]) => {
      let sum = 0;
      for (let i = 1; i < ids.length; i++) sum += scorer.scorePosition(ids, i, 0).logprob;
      return sum;
    };
    const good = [1, ...model.tokenizer.encode('the cat sat on the mat', false)];
    const bad = [1, ...model.tokenizer.encode('mat the on sat cat the', false)];
    expect(ll(good)).toBeGreaterThan(ll(bad));
  });

  it('round-trips through the cache file format', () => {
    const again = new NgramScorer(decodeNgram(encodeNgram(scorer.data, { note: 'x' })).data);
    for (let pos = 1; pos < text.length; pos++) {
      expect(again.scorePosition(text, pos, 3)).toEqual(scorer.scorePosition(text, pos, 3));
    }
  });

  it('works for tokenizers without BOS', () => {
    const gpt = trainModel({ name: 'tiny-gpt', tokenizer: 'gpt2', order: 2, corpus: CORPUS });
    const ids = [gpt.tokenizer.prefixToken, ...gpt.tokenizer.encode('the dog sat', false)];
    const dist = gpt.scorer.distribution(ids, 2);
    expect(Math.abs(dist.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
  });
});

describe('tokenizers', () => {
  it('decode unassigned cl100k ids to "" instead of throwing', () => {
    const t = getTokenizer('cl100k');
    expect(t.decodedToken(100256)).toBe('');
    expect(t.decode([9906, 100261, 1917])).toBe('Hello world');
    expect(t.tokenStr(100275)).toBe('');
  });

  it('map special-token text to the special id, as HF tokenizers do', () => {
    expect(getTokenizer('gpt2').encode('<|endoftext|>', true)).toEqual([50256]);
    expect(getTokenizer('llama').encode('Hello world</s>', false)).toEqual([15043, 3186, 2]);
  });
});
