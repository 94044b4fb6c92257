/**
 * @module
 * What the controller learns about a model from its backend at startup (vllm-api.md §1.5, §2): the served name,
 * the context length, and how to make every text token scored (the prefix-token rule of lm-evaluation-harness).
 */
import type { VllmClient } from './vllm-client.ts';

export interface ModelInfo {
  /** Public name (config). */
  readonly name: string;
  /** Name the backend serves it under. */
  readonly servedName: string;
  /** Backend context length; prompts are kept ≤ maxModelLen − 1. */
  readonly maxModelLen: number;
  /** BOS, or EOS where the tokenizer has no BOS: the context the first text token is scored in. */
  readonly prefixTokenId: number;
  /**
   * True when a plain text prompt with default `add_special_tokens` comes back as exactly [prefix, ...text
   * tokens]; then short texts are sent as text. Otherwise every text is tokenized and sent as token ids.
   */
  readonly addsPrefixItself: boolean;
}

/** Text used to learn the tokenizer's special-token behaviour. */
const PROBE_TEXT = 'The quick brown fox jumps over the lazy dog.';
/** EOS spellings of common tokenizer families, tried when a model adds no BOS and none is configured. */
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>', '<|im_end|>'];

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

export interface DiscoverOptions {
  name: string;
  servedName?: string;
  prefixTokenId?: number;
  signal?: AbortSignal;
}

export async function discoverModel(client: VllmClient, opts: DiscoverOptions): Promise<ModelInfo> {
  const { signal } = opts;
  const cards = await client.models(signal);
  const card = opts.servedName ? cards.find((c) => c.id === opts.servedName) : cards[0];
  if (!card) {
    throw new DiscoveryError(
      `model ${opts.name}: backend ${client.label} serves ${cards.map((c) => c.id).join(', ') || 'nothing'}, not ${opts.servedName}`,
    );
  }
  const servedName = card.id;
  const withSpecial = await client.tokenize(servedName, PROBE_TEXT, true, signal);
  const plain = await client.tokenize(servedName, PROBE_TEXT, false, signal);
  const maxModelLen = card.max_model_len ?? withSpecial.max_model_len;
  if (!maxModelLen || maxModelLen < 4) {
    throw new DiscoveryError(
      `model ${opts.name}: backend ${client.label} reports no usable max_model_len`,
    );
  }

  const addsExactlyOneLeading =
    withSpecial.tokens.length === plain.tokens.length + 1 &&
    plain.tokens.every((t, i) => withSpecial.tokens[i + 1] === t);
  if (addsExactlyOneLeading) {
    const bos = withSpecial.tokens[0] as number;
    const prefixTokenId = opts.prefixTokenId ?? bos;
    return {
      name: opts.name,
      servedName,
      maxModelLen,
      prefixTokenId,
      addsPrefixItself: prefixTokenId === bos,
    };
  }
  // No BOS (GPT-2/phi-2 style) or an unusual template: send token ids with an explicit prefix.
  let prefixTokenId = opts.prefixTokenId;
  if (prefixTokenId === undefined && withSpecial.tokens.length > plain.tokens.length) {
    const leading = withSpecial.tokens[0] as number;
    if (leading !== plain.tokens[0]) prefixTokenId = leading;
  }
  if (prefixTokenId === undefined) {
    for (const candidate of EOS_CANDIDATES) {
      const t = await client.tokenize(servedName, candidate, false, signal);
      if (t.tokens.length === 1) {
        prefixTokenId = t.tokens[0] as number;
        break;
      }
    }
  }
  if (prefixTokenId === undefined) {
    throw new DiscoveryError(
      `model ${opts.name}: its tokenizer adds no BOS and no known EOS token was found; set prefixTokenId in the model config`,
    );
  }
  return { name: opts.name, servedName, maxModelLen, prefixTokenId, addsPrefixItself: false };
}
