/**
 * @module
 * Validation of `POST /v1/completions` the way vLLM does it (`CompletionRequest` and its renderer in
 * https://github.com/vllm-project/vllm, `vllm/entrypoints/openai/`): field types, the
 * served-name check (404), logprob caps, prompt list rules, tokenization and the context-length check. Any bad
 * prompt fails the whole request with 400.
 */
import type { ModelEngine } from '../engines/model-engine.ts';
import { badRequest, VllmError } from './errors.ts';

/** vLLM's `--max-logprobs` default. */
export const MAX_LOGPROBS = 20;
/** `VLLM_MAX_COMPLETION_PROMPTS` default. */
export const MAX_PROMPTS = 1024;

export interface PlannedPrompt {
  tokens: number[];
  /** The prompt as text (string prompts as given; token prompts decoded). */
  text: string;
  /** Whether the request gave it as text (else as token ids). */
  fromText: boolean;
}

export interface CompletionPlan {
  prompts: PlannedPrompt[];
  echo: boolean;
  maxTokens: number;
  promptLogprobs: number | null;
  logprobs: number | null;
  returnTokenIds: boolean;
  addSpecialTokens: boolean;
}

type Body = Record<string, unknown>;

function optBool(body: Body, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be a boolean`, key);
  return v;
}

function optLogprobCount(
  body: Body,
  key: 'logprobs' | 'prompt_logprobs',
  vocabSize: number,
): number | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw badRequest(`${key} must be an integer`, key);
  if (v < -1) throw badRequest(`\`${key}\` must be a positive value or -1.`, key);
  const requested = v === -1 ? vocabSize : v;
  if (requested > MAX_LOGPROBS) {
    const what = key === 'prompt_logprobs' ? 'prompt logprobs' : 'sample logprobs';
    throw badRequest(
      `Requested ${what} of ${requested}, which is greater than max allowed: ${MAX_LOGPROBS}`,
      key,
    );
  }
  return v;
}

const isTokenList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'number' && Number.isInteger(t));

/** Normalises the four prompt forms into a list of strings and token lists. */
function promptList(prompt: unknown): (string | number[])[] {
  const EMPTY = 'Either prompt or prompt_embeds must be provided and non-empty.';
  if (prompt === undefined || prompt === null) throw badRequest(EMPTY, 'prompt');
  if (typeof prompt === 'string') return [prompt];
  if (!Array.isArray(prompt))
    throw badRequest('prompt must be a string, a list of strings or token ids', 'prompt');
  if (prompt.length === 0) throw badRequest(EMPTY, 'prompt');
  // A flat token list is one prompt (and exempt from the list cap).
  if (prompt.every((p) => typeof p === 'number')) {
    if (!isTokenList(prompt)) throw badRequest('token ids must be integers', 'prompt');
    return [prompt];
  }
  if (prompt.length > MAX_PROMPTS) {
    throw badRequest(
      `prompt list length ${prompt.length} exceeds the maximum allowed count of ${MAX_PROMPTS}. ` +
        'Set VLLM_MAX_COMPLETION_PROMPTS to raise the limit.',
      'prompt',
    );
  }
  if (prompt.every((p) => typeof p === 'string')) return prompt as string[];
  if (prompt.every((p) => Array.isArray(p))) {
    for (const p of prompt) {
      if ((p as unknown[]).length === 0) throw badRequest(EMPTY, 'prompt');
      if (!isTokenList(p)) throw badRequest('token ids must be integers', 'prompt');
    }
    return prompt as number[][];
  }
  throw badRequest('prompt must be a string, a list of strings or token ids, not a mix', 'prompt');
}

/** Validates a request body against the served model; throws VllmError (400/404) on the first problem. */
export function planCompletion(
  raw: unknown,
  model: ModelEngine,
  maxModelLen: number,
): CompletionPlan {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest('request body must be a JSON object');
  }
  const body = raw as Body;
  const vocab = model.tokenizer.vocabSize;
  const stream = optBool(body, 'stream', false);
  const echo = optBool(body, 'echo', false);
  const addSpecial = optBool(body, 'add_special_tokens', true);
  const returnTokenIds = optBool(body, 'return_token_ids', false);
  const promptLogprobs = optLogprobCount(body, 'prompt_logprobs', 0);
  let logprobs = optLogprobCount(body, 'logprobs', 0);
  if (stream && promptLogprobs !== null && promptLogprobs !== 0) {
    throw badRequest('`prompt_logprobs` are not available when `stream=True`.', 'prompt_logprobs');
  }
  if (stream) throw badRequest('streaming is not supported by local-lm', 'stream');
  const temperature = body.temperature;
  if (
    temperature !== undefined &&
    temperature !== null &&
    (typeof temperature !== 'number' || temperature < 0)
  ) {
    throw badRequest('temperature must be a non-negative number', 'temperature');
  }
  let maxTokens = 16;
  const mt = body.max_tokens;
  if (mt !== undefined && mt !== null) {
    if (typeof mt !== 'number' || !Number.isInteger(mt))
      throw badRequest('max_tokens must be an integer', 'max_tokens');
    if (mt < 0) throw badRequest(`max_tokens must be at least 0, got ${mt}.`, 'max_tokens');
    maxTokens = mt;
  }
  if (maxTokens === 0 && !echo)
    throw badRequest('max_tokens must be at least 1, got 0.', 'max_tokens');

  const name = body.model;
  if (name !== undefined && name !== null && name !== model.name) {
    throw new VllmError(404, `The model \`${String(name)}\` does not exist.`, 'model');
  }
  // Checked after the model, as vLLM's engine checks the caps once the request is routed.
  optLogprobCount(body, 'prompt_logprobs', vocab);
  logprobs = optLogprobCount(body, 'logprobs', vocab);

  const prompts: PlannedPrompt[] = promptList(body.prompt).map((p) => {
    if (typeof p === 'string') {
      if (p.length === 0)
        throw badRequest(
          'Either prompt or prompt_embeds must be provided and non-empty.',
          'prompt',
        );
      return { tokens: model.tokenizer.encode(p, addSpecial), text: p, fromText: true };
    }
    for (const t of p) {
      if (t < 0 || t >= vocab) throw badRequest(`Token id ${t} is out of vocabulary`, 'prompt');
    }
    return { tokens: p, text: model.tokenizer.decode(p), fromText: false };
  });

  // vLLM: max input = max_model_len − (max_tokens or 0); echo with max_tokens 0 may use the whole context.
  const maxInput = maxModelLen - maxTokens;
  for (const p of prompts) {
    if (p.tokens.length > maxInput) {
      throw badRequest(
        `You passed ${p.tokens.length} input tokens and requested ${maxTokens} output tokens. ` +
          `However, the model's context length is only ${maxModelLen} tokens, resulting in a maximum ` +
          `input length of ${maxInput} tokens. Please reduce the length of the input prompt.`,
        'input_tokens',
      );
    }
  }
  const plannedPromptLogprobs = promptLogprobs ?? (echo ? logprobs : null);
  return {
    prompts,
    echo,
    maxTokens,
    promptLogprobs: plannedPromptLogprobs,
    logprobs,
    returnTokenIds,
    addSpecialTokens: addSpecial,
  };
}
