/**
 * @module
 * The correctness probe: a fixed text scored as token ids. Its NLL per token is learned once per model at
 * startup; a backend whose answer drifts further than the tolerance serves other weights (or a broken engine)
 * and is ejected, even though its `/health` says 200. Batch composition moves GPU logprobs by ~1e-2 nats
 * (https://github.com/vllm-project/vllm/issues/5543), so the tolerance must stay well above that.
 */
import { InvalidLogprobError, sumPromptLogprobs } from '../scoring/logprobs.ts';
import { BackendError } from './errors.ts';
import type { ModelInfo } from './model-info.ts';
import type { VllmClient } from './vllm-client.ts';

/** Ordinary prose with digits and punctuation: every model family tokenizes it into a few dozen tokens. */
export const GOLDEN_TEXT =
  'On 3 March the river rose, and by noon the old mill stood in water up to its second window.';

export interface GoldenProbe {
  /** [prefix, ...tokens of GOLDEN_TEXT] as the model's tokenizer splits it. */
  readonly prompt: readonly number[];
  /** NLL per scored token learned at startup. */
  readonly nllPerToken: number;
  /** `prompt_logprobs` the backend accepted (scoring traffic uses the same). */
  readonly promptLogprobs: number;
}

/**
 * Learns the golden value from one backend (the one discovery succeeded on). When the backend rejects or
 * mishandles `prompt_logprobs: 0` (not every vLLM release answers it with the actual token), it settles for 1.
 */
export async function learnGolden(
  client: VllmClient,
  info: ModelInfo,
  promptLogprobs: number,
  signal?: AbortSignal,
): Promise<GoldenProbe> {
  // The text is ASCII: cutting it to the context in characters keeps it tokenizable by a backend whose
  // `/tokenize` refuses texts longer than the context.
  const text = GOLDEN_TEXT.slice(0, Math.max(8, info.maxModelLen - 3));
  const tokens = await client.tokenize(info.servedName, text, false, signal);
  // Short enough for any context (tests run models with tiny ones), long enough to tell weights apart.
  const keep = Math.min(tokens.tokens.length, info.maxModelLen - 2, 64);
  const prompt = [info.prefixTokenId, ...tokens.tokens.slice(0, keep)];
  try {
    const nllPerToken = await scoreGolden(client, info, prompt, promptLogprobs, signal);
    return { prompt, nllPerToken, promptLogprobs };
  } catch (err) {
    // A release that takes 0 but leaves the actual token out of its answer is as unusable as one that refuses 0.
    const refused = err instanceof BackendError && err.code === 'BACKEND_REJECTED';
    if (promptLogprobs !== 0 || !(refused || err instanceof InvalidLogprobError)) throw err;
    const nllPerToken = await scoreGolden(client, info, prompt, 1, signal);
    return { prompt, nllPerToken, promptLogprobs: 1 };
  }
}

/** Scores the golden prompt on one backend; returns its NLL per token. */
export async function scoreGolden(
  client: VllmClient,
  info: ModelInfo,
  prompt: readonly number[],
  promptLogprobs: number,
  signal?: AbortSignal,
): Promise<number> {
  const [choice] = await client.completions(
    {
      model: info.servedName,
      prompt: [prompt as number[]],
      max_tokens: 0,
      echo: true,
      prompt_logprobs: promptLogprobs,
      return_token_ids: true,
      temperature: 0,
    },
    signal,
  );
  if (!choice) throw new Error('golden probe: no choice');
  const span = sumPromptLogprobs(choice.prompt_token_ids, choice.prompt_logprobs, 1);
  if (span.tokens === 0) throw new Error('golden probe: no scored token');
  return span.nll / span.tokens;
}
