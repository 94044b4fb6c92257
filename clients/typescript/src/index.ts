/**
 * @module
 * Typed client of the Ensembled Perplexity API:
 * `import { EnsembledPerplexityClient } from '@ensembled-perplexity/client'`.
 */
export { EnsembledPerplexityClient } from './client.js';
export type { CallOptions, EnsembledPerplexityClientOptions } from './client.js';
export type { BatchOptions, ManyOptions, TextOutcome } from './batch.js';
export type { RetryOptions } from './retry.js';
export { ApiResponseError, EnsembledPerplexityError, StreamError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { isSummaryLine } from './types.js';
export type {
  CalibrationResponse,
  DetailLevel,
  Ensemble,
  LegacyPerplexityResponse,
  ModelFigures,
  ModelFingerprint,
  ModelInfo,
  ModelsResponse,
  PerplexityRequest,
  PerplexityResponse,
  ReadyResponse,
  Span,
  StreamLine,
  StreamSummary,
  TextError,
  TextResult,
  TokenDetail,
  Usage,
} from './types.js';
