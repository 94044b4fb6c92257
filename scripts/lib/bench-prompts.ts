/**
 * @module
 * The seed table's workload: prompts of about 50 tokens (48 common English words), all different, and
 * different on every run (the run tag seeds the words), so neither the result cache nor the in-flight
 * deduplication can answer them: every prompt really goes to every model.
 */

const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an ' +
  'they you were her she there been one all we their has would when if so no will more can out up who them ' +
  'some time could into two then its only new like these other people about than first way may any after ' +
  'over also where most through back years much before good great little world well just long here state ' +
  'water city market river family school house night light story letter morning company country question ' +
  'government evening summer winter garden island village doctor teacher engine harbor journey machine'
).split(' ');

/** Words per prompt: these common words are ~1.03 tokens each for the Llama, Mistral and GPT-2 tokenizers. */
const WORDS_PER_PROMPT = 48;

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

/** FNV-1a: folds the run tag into the generator's seed. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * `count` distinct prompts of about 50 tokens: random sentences of common words. No visible tag, since a run id
 * would tokenize into a dozen odd tokens and skew the prompt length.
 * @param runTag seeds the words, so this run's texts are unlike any earlier run's (cache-proof)
 */
export function benchPrompts(count: number, runTag: string, seed = 1): string[] {
  const next = random(hash(runTag, seed));
  const prompts = new Set<string>();
  while (prompts.size < count) {
    const words: string[] = [];
    for (let w = 0; w < WORDS_PER_PROMPT; w++) {
      words.push(WORDS[Math.floor(next() * WORDS.length)] as string);
    }
    const sentence = words.join(' ');
    prompts.add(`${sentence[0]?.toUpperCase()}${sentence.slice(1)}.`);
  }
  return [...prompts];
}
