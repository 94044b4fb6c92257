/**
 * @module
 * The contract between the vLLM-shaped HTTP server and what answers behind it. The server owns the wire
 * (validation, byte layout, faults, timing, counters); an engine owns one model's tokens and scores. Three
 * engines exist: the n-gram models (`../models.ts`), `instant` (for measuring the controller's own cost) and
 * `scripted` (exact, predictable bytes for tests).
 */
import type { Tokenizer } from '../tokenizers.ts';

/** What vLLM reports for one prompt position. */
export interface PositionScore {
  token: number;
  /** As it goes on the wire (an engine emulating a GPU rounds to float32 itself). */
  logprob: number;
  /** 1 + number of other tokens at least as likely (vLLM: count of logprobs ≥ the token's). */
  rank: number;
  /** Top-k as [token, logprob], most likely first. Empty when k = 0. */
  top: [number, number][];
}

export interface ModelEngine {
  /** Served model name (`--served-model-name`). */
  readonly name: string;
  /** Hugging-Face-like id reported as `root` by `/v1/models`. */
  readonly root: string;
  readonly tokenizer: Tokenizer;
  /** Scores `tokens[pos]` given the tokens before it, with its rank and the top-k alternatives. */
  scorePosition(tokens: ArrayLike<number>, pos: number, k: number): PositionScore;
  /** Most likely next token after `tokens` (greedy decoding). */
  argmaxNext(tokens: ArrayLike<number>): number;
}
