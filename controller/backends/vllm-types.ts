/**
 * @module
 * The parts of vLLM's OpenAI-compatible API the controller uses
 * (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html; the request and response models are in
 * `vllm/entrypoints/openai/` of https://github.com/vllm-project/vllm).
 * Responses are checked by hand where they are read (see vllm-client.ts): a schema pass over every token of
 * every prompt would cost more CPU than the rest of the request path.
 */

/** `POST /v1/completions` body for prompt scoring: vLLM's own `prompt_logprobs`, echo without generating. */
export interface CompletionRequest {
  model: string;
  prompt: string[] | number[][];
  max_tokens: 0;
  echo: true;
  prompt_logprobs: number;
  return_token_ids: true;
  temperature: 0;
}

/** One entry of a `prompt_logprobs` position, keyed by token id as a string. */
export interface PromptLogprob {
  logprob: number;
  rank?: number | null;
  decoded_token?: string | null;
}

export type PromptLogprobs = Array<Record<string, PromptLogprob> | null>;

export interface CompletionChoice {
  index: number;
  prompt_token_ids: number[];
  prompt_logprobs: PromptLogprobs;
}

export interface ModelCard {
  id: string;
  max_model_len?: number;
  root?: string;
}

export interface TokenizeResponse {
  count: number;
  max_model_len?: number;
  tokens: number[];
}
