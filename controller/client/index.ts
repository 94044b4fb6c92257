/**
 * @module
 * Typed client of the Ensembled Perplexity API (`import { EnsembledPerplexityClient } from 'ensembled-perplexity/client'`).
 */
export { EnsembledPerplexityClient } from './client.ts';
export type { CallOptions, EnsembledPerplexityClientOptions } from './client.ts';
export { ApiResponseError, EnsembledPerplexityError, StreamError } from './errors.ts';
export type { ClientErrorCode } from './errors.ts';
export { isSummaryLine } from './types.ts';
export type {
  LegacyPerplexityResponse,
  CalibrationResponse,
  ModelsResponse,
  PerplexityRequest,
  PerplexityResponse,
  ReadyResponse,
  StreamLine,
  StreamSummary,
  TextResult,
} from './types.ts';
