/**
 * @module
 * The parts of the scoring API the playground reads. Fields from newer servers (percentiles, windows, spans,
 * flags) are optional: the page shows them when the server sends them.
 */

export interface TokenDetail {
  readonly id: number;
  readonly text: string | null;
  readonly logprob: number;
  /** UTF-16 index of the token in the text; null where the server could not place it. */
  readonly offset: number | null;
}

export interface TextError {
  readonly type: string;
  readonly message: string;
  readonly param?: string;
}

export interface ModelFigures {
  readonly perplexity: number;
  readonly nll: number;
  readonly tokens: number;
  readonly bits_per_byte: number;
  readonly word_perplexity?: number;
  readonly windows: number;
  readonly percentile?: number;
  readonly max_window_bits_per_byte?: number;
  readonly token_details?: readonly TokenDetail[];
}

/** A stretch of the text with its figures; `start`/`end` are UTF-16 indices, end exclusive. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
  readonly bits_per_byte: number;
  readonly percentile?: number;
}

export interface EnsembleFigures {
  readonly perplexity: number;
  readonly bits_per_byte: number;
  readonly byte_perplexity: number;
  readonly spread: number;
  readonly models_used: readonly string[];
  readonly degraded: boolean;
  readonly missing_models: readonly string[];
  readonly percentile?: number;
  readonly max_window?: TextSpan;
  readonly spans?: readonly TextSpan[];
  readonly flagged?: boolean;
  readonly flag_reasons?: readonly string[];
}

export interface TextResult {
  readonly index: number;
  readonly ensemble?: EnsembleFigures;
  readonly models: Readonly<Record<string, ModelFigures | { readonly error: TextError }>>;
  readonly error?: TextError;
}

export interface Usage {
  readonly texts: number;
  readonly tokens: number;
  readonly bytes: number;
  readonly cache_hits?: number;
}

export interface ScoreResponse {
  readonly results: readonly TextResult[];
  readonly models_used: readonly string[];
  readonly degraded: boolean;
  readonly usage: Usage;
}

/** One line of a streamed (NDJSON) answer. */
export type StreamLine =
  TextResult | { readonly summary: Omit<ScoreResponse, 'results'> } | { readonly error: TextError };

export interface ModelInfo {
  readonly id: string;
  readonly ready: boolean;
  readonly weight: number;
}

export interface ScoreRequest {
  texts: string[];
  models?: string[];
  details?: string | string[];
  window_chars?: number;
  flag_fpr?: number;
  stream?: boolean;
}

/** A model's figures, or undefined when that model failed for the text. */
export function modelFigures(result: TextResult, model: string): ModelFigures | undefined {
  const entry = result.models[model];
  return entry && !('error' in entry) ? entry : undefined;
}
