/**
 * @module
 * The seed table's workload: prompts of about 50 tokens (≈ 38 English words for Llama-family tokenizers), all
 * different, and different on every run (a run tag is part of each text), so neither the result cache nor the
 * in-flight deduplication can answer them: every prompt really goes to every model.
 */

const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an ' +
  'they you were her she there been one all we their has would when if so no will more can out up who them ' +
  'some time could into two then its only new like these other people about than first way may any after ' +
  'over also where most through back years much before good great little world well just long here state ' +
  'water city market river family school house night light story letter morning company country question ' +
  'government evening summer winter garden island village doctor teacher engine harbor journey machine'
).split(' ');

/** Words per prompt: with the tag, about 50 tokens for the Llama, Mistral and GPT-2 tokenizers. */
const WORDS_PER_PROMPT = 32;

/** A deterministic generator (mulberry32): the same seed gives the same prompts. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` distinct prompts of about 50 tokens.
 * @param runTag makes this run's texts unlike any earlier run's (cache-proof)
 */
export function benchPrompts(count: number, runTag: string, seed = 1): string[] {
  const next = random(seed);
  const prompts: string[] = [];
  for (let i = 0; i < count; i++) {
    const words: string[] = [];
    for (let w = 0; w < WORDS_PER_PROMPT; w++)
      words.push(WORDS[Math.floor(next() * WORDS.length)] as string);
    const sentence = words.join(' ');
    prompts.push(`Run ${runTag} item ${i}: ${sentence[0]?.toUpperCase()}${sentence.slice(1)}.`);
  }
  return prompts;
}
