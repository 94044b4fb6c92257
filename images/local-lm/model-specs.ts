/**
 * @module
 * The four default local models. They differ the way the production ensemble does: different tokenizers
 * (two add BOS like Llama-2/Mistral, two add none like phi-2), different corpora and different orders, so
 * their perplexities disagree and the ensemble average is steadier than any one of them.
 */
import type { CorpusId } from './corpora.ts';
import type { TokenizerId } from './tokenizers.ts';

export interface ModelSpec {
  /** Served model name (`--served-model-name`). */
  name: string;
  /** Hugging-Face-like id reported as `root` by `/v1/models`. */
  root: string;
  tokenizer: TokenizerId;
  /** Corpora; with several, `maxChars` is split evenly between them. */
  corpus: CorpusId[];
  order: number;
  /** Training text cap in characters (the JS sentencepiece tokenizers do ~150k tokens/s). */
  maxChars: number;
}

export const DEFAULT_MODEL_SPECS: readonly ModelSpec[] = [
  {
    name: 'llama-sotu',
    root: 'local-lm/llama-sotu-3gram',
    tokenizer: 'llama',
    corpus: ['sotu'],
    order: 3,
    maxChars: 1_500_000,
  },
  {
    name: 'mistral-moby',
    root: 'local-lm/mistral-moby-3gram',
    tokenizer: 'mistral',
    corpus: ['moby-dick'],
    order: 3,
    maxChars: 1_200_000,
  },
  {
    name: 'gpt2-brown',
    root: 'local-lm/gpt2-brown-4gram',
    tokenizer: 'gpt2',
    corpus: ['brown'],
    order: 4,
    maxChars: 3_000_000,
  },
  {
    name: 'cl100k-mix',
    root: 'local-lm/cl100k-mix-3gram',
    tokenizer: 'cl100k',
    corpus: ['sotu', 'moby-dick', 'brown'],
    order: 3,
    maxChars: 4_500_000,
  },
];

/** Served names of the default models, in fleet order. */
export const DEFAULT_MODEL_NAMES: readonly string[] = DEFAULT_MODEL_SPECS.map((s) => s.name);

export function specFor(name: string): ModelSpec {
  const spec = DEFAULT_MODEL_SPECS.find((s) => s.name === name);
  if (!spec)
    throw new Error(`unknown local model ${name}; use one of ${DEFAULT_MODEL_NAMES.join(', ')}`);
  return spec;
}
