import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL_NAMES,
  HELD_OUT_SENTENCES,
  startLocalFleet,
  type LocalFleet,
} from '../../../images/local-lm/index.ts';
import { CORPUS_IDS, loadCorpus } from '../../../images/local-lm/corpora.ts';
import { perplexities, post, shuffleWords, type CompletionBody } from './helpers.ts';

let fleet: LocalFleet;

beforeAll(async () => {
  // First run trains all four models (seconds) into the shared cache; later runs read the cache.
  fleet = await startLocalFleet();
}, 120_000);

afterAll(async () => {
  await fleet?.close();
});

async function score(url: string, model: string, texts: readonly string[]): Promise<number[]> {
  const res = await post(url, '/v1/completions', {
    model,
    prompt: texts,
    max_tokens: 0,
    echo: true,
    prompt_logprobs: 0,
    return_token_ids: true,
    temperature: 0,
  });
  expect(res.status).toBe(200);
  return perplexities(res.json as CompletionBody);
}

describe('default local models', () => {
  it('serves the four default models under their names', () => {
    expect(fleet.servers.map((s) => s.servedName)).toEqual([...DEFAULT_MODEL_NAMES]);
    expect(new Set(fleet.servers.map((s) => s.port)).size).toBe(4);
  });

  it('held-out sentences appear in no training corpus', () => {
    const norm = (t: string) => t.replace(/\s+/g, ' ').toLowerCase();
    const corpora = CORPUS_IDS.map((id) => norm(loadCorpus(id).join(' ')));
    for (const sentence of HELD_OUT_SENTENCES) {
      // Neither the sentence nor its first eight words occur verbatim anywhere.
      const head = norm(sentence.split(' ').slice(0, 8).join(' '));
      for (const text of corpora) expect(text.includes(head), sentence).toBe(false);
    }
  });

  it('held-out English scores lower perplexity than the same words shuffled, for every model', async () => {
    const shuffled = HELD_OUT_SENTENCES.map((s) => shuffleWords(s));
    for (const s of fleet.servers) {
      const natural = await score(s.url, s.servedName, HELD_OUT_SENTENCES);
      const scrambled = await score(s.url, s.servedName, shuffled);
      natural.forEach((ppl, i) =>
        expect(ppl, `${s.servedName}: ${HELD_OUT_SENTENCES[i]}`).toBeLessThan(scrambled[i]!),
      );
    }
  });

  it('the four models disagree clearly about the same text', async () => {
    const means: number[] = [];
    for (const s of fleet.servers) {
      const ppl = await score(s.url, s.servedName, HELD_OUT_SENTENCES);
      means.push(ppl.reduce((a, p) => a + Math.log(p), 0) / ppl.length);
    }
    console.log(
      'mean log-perplexity per model',
      Object.fromEntries(means.map((m, i) => [DEFAULT_MODEL_NAMES[i], m.toFixed(3)])),
    );
    for (let i = 0; i < means.length; i++) {
      for (let j = i + 1; j < means.length; j++)
        expect(Math.abs(means[i]! - means[j]!)).toBeGreaterThan(0.1);
    }
  });
});
