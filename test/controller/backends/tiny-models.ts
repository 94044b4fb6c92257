/**
 * Tiny local-lm models for backend and fault tests: trained in milliseconds, real tokenizers, real n-gram
 * logprobs, vLLM's HTTP shapes and faults.
 */
import { trainModel } from '../../../images/local-lm/index.ts';
import type { LocalModel } from '../../../images/local-lm/index.ts';

const CORPUS_A =
  'The cat sat on the mat.\n\nThe dog sat on the log.\n\nA bird sang in the tree by the river.\n\nThe river ran past the old mill.';
const CORPUS_B =
  'Stocks fell sharply on Monday.\n\nInvestors sold bonds and bought gold.\n\nThe market closed lower for the third day.';

/** A Mistral-tokenizer model (adds BOS, like Llama/Mistral). */
export function tinyBos(name = 'tiny-bos', corpus = CORPUS_A): LocalModel {
  return trainModel({ name, tokenizer: 'mistral', order: 3, corpus });
}

/** A GPT-2-tokenizer model (no BOS, like phi-2): the controller puts `<|endoftext|>` in front. */
export function tinyNoBos(name = 'tiny-gpt', corpus = CORPUS_A): LocalModel {
  return trainModel({ name, tokenizer: 'gpt2', order: 3, corpus });
}

/** Same name and tokenizer as `tinyBos(name)`, other weights: what a replica serving the wrong model looks like. */
export function tinyBosOtherWeights(name = 'tiny-bos'): LocalModel {
  return tinyBos(name, CORPUS_B);
}

export const SENTENCES = [
  'The cat sat on the log.',
  'A dog sang by the river.',
  'The old mill stood in the water.',
  'Birds sat in the tree.',
];
