/**
 * @module
 * The API's request and response shapes on the wire. They are written out here, not imported from the server,
 * so the package installs and type-checks without any server code; a test in the server's repository checks them
 * against the server's schemas, so they cannot drift. Fields the server may add later are optional.
 */

/** What `details` may ask for: per-token figures, suspicious spans, or both. */
export type DetailLevel = 'tokens' | 'spans';

/** `POST /v1/perplexity` body; `stream` is chosen by the method (`perplexity` or `perplexityStream`). */
export interface PerplexityRequest {
  /** Texts to score, in order. */
  texts: string[];
  /** Models to use. @default - all the server has */
  models?: string[];
  /** Models that must answer for a text; with fewer the request fails with 503. @default - the server setting */
  min_models?: number;
  /** Ensemble weight per model name. @default - 1 each */
  weights?: Record<string, number>;
  /** `"tokens"` adds each model's tokens; `"spans"` the ensemble's most surprising spans. @default "none" */
  details?: 'none' | DetailLevel | DetailLevel[];
  /** Deadline of the whole request in ms (streamed: of each text). @default - the server setting */
  timeout_ms?: number;
  /** Width in characters of the sliding window behind `max_window`. @default - the server setting */
  window_chars?: number;
  /** False-positive rate (0 < x <= 0.5) at which `ensemble.flagged` is set; absent: no flagging. */
  flag_fpr?: number;
  /** `false` scores without storing the results in the server's cache. @default true */
  cache?: boolean;
}

/** Why a text, or one model for a text, has no figures. */
export interface TextError {
  type: string;
  message: string;
  /** The request field at fault, e.g. `texts[3]`. */
  param?: string;
}

/** One token as a model scored it (with `details: "tokens"`). */
export interface TokenDetail {
  id: number;
  /** The token as the model decodes it alone. */
  text: string | null;
  logprob: number;
  /** Character offset (UTF-16 index) of the token in the text; null where it cannot be aligned. */
  offset: number | null;
}

/** A stretch of the text with its own score: `[start, end)` in UTF-16 indices. */
export interface Span {
  start: number;
  end: number;
  /** Ensemble surprisal of these characters, bits per UTF-8 byte. */
  bits_per_byte: number;
  /**
   * 0–100 against reference texts of similar length; absent without a calibration for this window length.
   */
  percentile?: number;
}

/** One model's figures for one text. */
export interface ModelFigures {
  /** exp(nll / tokens) */
  perplexity: number;
  /** Negative log-likelihood of the text in nats. */
  nll: number;
  tokens: number;
  /** nll / (UTF-8 bytes · ln 2): comparable across tokenizers. */
  bits_per_byte: number;
  /** exp(nll / words); absent when the text has no word or the value overflows. */
  word_perplexity?: number;
  /** Context windows the text was scored in (> 1 for long texts). */
  windows: number;
  percentile?: number;
  max_window_bits_per_byte?: number;
  token_details?: TokenDetail[];
}

/** The models combined for one text. */
export interface Ensemble {
  /** Weighted geometric mean of the model perplexities. */
  perplexity: number;
  /** Weighted mean of the model bits-per-byte. */
  bits_per_byte: number;
  /** 2^bits_per_byte */
  byte_perplexity: number;
  /** Weighted standard deviation of the models' log-perplexities. */
  spread: number;
  models_used: string[];
  /** Some requested model did not answer for this text. */
  degraded: boolean;
  missing_models: string[];
  percentile?: number;
  /** The most surprising window of `window_chars` characters. */
  max_window?: Span;
  /** With `details` including `"spans"`. */
  spans?: Span[];
  /** With `flag_fpr`: whether the text (or a window of it) scores as unusual at that false-positive rate. */
  flagged?: boolean;
  flag_reasons?: ('text' | 'window')[];
}

/** One text's result: per-model figures, the ensemble, or the text's own error. */
export interface TextResult {
  /** Position of the text in the request. */
  index: number;
  ensemble?: Ensemble;
  models: Record<string, ModelFigures | { error: TextError }>;
  error?: TextError;
}

export interface Usage {
  texts: number;
  /** Tokens scored over all models. */
  tokens: number;
  bytes: number;
  /** (text, model) scores answered from the server's cache. */
  cache_hits?: number;
}

export interface PerplexityResponse {
  results: TextResult[];
  models_used: string[];
  degraded: boolean;
  usage: Usage;
}

/** The last line of a stream. */
export type StreamSummary = Omit<PerplexityResponse, 'results'>;
/** A line of `perplexityStream`: a text's result (with its `index`) or, last, the summary. */
export type StreamLine = TextResult | { summary: StreamSummary };

export interface ModelInfo {
  id: string;
  ready: boolean;
  weight: number;
  max_model_len: number | null;
  prefix_token_id: number | null;
  /** Why the model cannot serve on this deployment (e.g. its download was refused), or null. */
  unavailable: string | null;
  backends: { id: string; state: string; inflight: number; last_error: string | null }[];
}

/** `GET /v1/models` */
export interface ModelsResponse {
  object: 'list';
  data: ModelInfo[];
}

/** `GET /readyz` */
export interface ReadyResponse {
  ready: boolean;
  models: Record<string, boolean>;
  min_models: number;
  keys_loaded: boolean;
}

/** What identifies a model for calibration, with its ensemble weight. */
export interface ModelFingerprint {
  name: string;
  served_name: string;
  max_model_len: number;
  prefix_token_id: number;
  /** NLL per token (nats) of a fixed probe text: identifies the weights and revision. */
  golden_nll_per_token: number;
  weight: number;
}

/** `GET /v1/calibration` */
export interface CalibrationResponse {
  /**
   * `loaded`: percentiles and flags work; `none`, `pending`, `refused` (see `message`) or `making` (the server is
   * making its own calibration, see `self_calibration`): they do not.
   */
  state: 'none' | 'pending' | 'loaded' | 'refused' | 'making';
  message?: string;
  default_window_chars: number;
  calibration?: {
    format: string;
    version: number;
    created_at: string;
    corpus: { name: string; version: string; sha256: string; texts: number; split: string };
    models: ModelFingerprint[];
    /** Window lengths with a reference distribution. */
    window_chars: number[];
    buckets: { min_bytes: number; max_bytes: number | null; texts: number }[];
    thresholds: { fpr: number; window_chars: number; min_bytes: number; z: number }[];
  };
  /** Present once the server has tried to make its own calibration. */
  self_calibration?: {
    state: 'idle' | 'making' | 'waiting' | 'gave_up';
    attempts: number;
    texts_done?: number;
    texts_total?: number;
    last_error?: string;
    /** ISO 8601. */
    next_attempt_at?: string;
  };
  deployment: { models: ModelFingerprint[] | null };
}

/** `POST /ensemble_perplexity` answer: perplexity per prompt, per model. */
export type LegacyPerplexityResponse = Record<string, number[]>;

/** Narrows a stream line to the summary. */
export function isSummaryLine(line: StreamLine): line is { summary: StreamSummary } {
  return 'summary' in line;
}
