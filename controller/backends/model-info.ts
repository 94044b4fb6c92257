/**
 * @module
 * What the controller learns about a model from its backend at startup (vLLM's `GET /v1/models` and
 * `POST /tokenize`, https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html): the served name, the
 * context length, and how to make every text token scored without a `/tokenize` round trip per text where the
 * tokenizer allows it. Completions add BOS by default (`add_special_tokens`), so a tokenizer without BOS leaves
 * the first token unscored; lm-evaluation-harness's rule is to put BOS, else EOS, in front
 * (`prefix_token_id`, https://github.com/EleutherAI/lm-evaluation-harness/blob/main/lm_eval/models/vllm_causallms.py).
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
   * How a short text can be sent as a text prompt so that it comes back as exactly [prefix, ...text tokens]:
   * `''` when the backend adds the prefix (BOS) itself, a string (such as `<|endoftext|>`) to put in front of
   * the text when that string is tokenized as the prefix token alone, or `null` when neither holds and every
   * text is tokenized and sent as token ids.
   */
  readonly textPrefix: string | null;
}

/** Texts used to learn the tokenizer's special-token behaviour (a plain sentence and an awkward start). */
const PROBE_TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  ' 12,5% "quoted"\n\tnext line',
];
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

const sameIds = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((t, i) => b[i] === t);

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
  const probe = PROBE_TEXTS[0] as string;
  const withSpecial = await client.tokenize(servedName, probe, true, signal);
  const plain = await client.tokenize(servedName, probe, false, signal);
  const maxModelLen = card.max_model_len ?? withSpecial.max_model_len;
  if (!maxModelLen || maxModelLen < 4) {
    throw new DiscoveryError(
      `model ${opts.name}: backend ${client.label} reports no usable max_model_len`,
    );
  }
  const base = { name: opts.name, servedName, maxModelLen };

  const addsExactlyOneLeading =
    withSpecial.tokens.length === plain.tokens.length + 1 &&
    plain.tokens.every((t, i) => withSpecial.tokens[i + 1] === t);
  if (addsExactlyOneLeading) {
    const bos = withSpecial.tokens[0] as number;
    const prefixTokenId = opts.prefixTokenId ?? bos;
    return { ...base, prefixTokenId, textPrefix: prefixTokenId === bos ? '' : null };
  }
  // No BOS (GPT-2/phi-2 style) or an unusual template: find the prefix token and, if it has a spelling that
  // the tokenizer keeps whole in front of any text, send texts with that spelling in front.
  let prefixTokenId = opts.prefixTokenId;
  if (prefixTokenId === undefined && withSpecial.tokens.length > plain.tokens.length) {
    const leading = withSpecial.tokens[0] as number;
    if (leading !== plain.tokens[0]) prefixTokenId = leading;
  }
  let spelling: string | undefined;
  for (const candidate of EOS_CANDIDATES) {
    let ids: number[];
    try {
      ids = (await client.tokenize(servedName, candidate, false, signal)).tokens;
    } catch (err) {
      if (signal?.aborted) throw err;
      continue; // a tokenizer may refuse special-token text; try the next spelling
    }
    if (ids.length !== 1) continue;
    if (prefixTokenId === undefined) prefixTokenId = ids[0] as number;
    if (ids[0] === prefixTokenId) {
      spelling = candidate;
      break;
    }
  }
  if (prefixTokenId === undefined) {
    throw new DiscoveryError(
      `model ${opts.name}: its tokenizer adds no BOS and no known EOS token was found; set prefixTokenId in the model config`,
    );
  }
  const textPrefix =
    spelling !== undefined &&
    (await keepsPrefixWhole(client, servedName, spelling, prefixTokenId, signal))
      ? spelling
      : null;
  return { ...base, prefixTokenId, textPrefix };
}

/**
 * True when `spelling + text` with the completions default (`add_special_tokens: true`) tokenizes to exactly
 * [prefix, ...tokens of text alone] for every probe text: then a text prompt scores like the token-id form.
 */
async function keepsPrefixWhole(
  client: VllmClient,
  servedName: string,
  spelling: string,
  prefixTokenId: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    for (const text of PROBE_TEXTS) {
      const alone = await client.tokenize(servedName, text, false, signal);
      const joined = await client.tokenize(servedName, spelling + text, true, signal);
      if (!sameIds(joined.tokens, [prefixTokenId, ...alone.tokens])) return false;
    }
    return true;
  } catch (err) {
    if (signal?.aborted) throw err;
    return false;
  }
}
