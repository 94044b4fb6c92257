/**
 * @module
 * The API's request and response shapes, derived from the server's own zod schemas (types only: nothing of the
 * server is loaded at run time), so the client cannot drift from what the server validates and documents.
 */
import type { z } from 'zod';
import type {
  ModelsResponseSchema,
  PerplexityResponseSchema,
  ReadyResponseSchema,
  perplexityRequestSchema,
} from '../api/schemas.ts';
import type { CalibrationResponseSchema } from '../api/calibration-schemas.ts';

type RequestBody = z.input<ReturnType<typeof perplexityRequestSchema>>;

/** `POST /v1/perplexity` body; `stream` is chosen by the method (`perplexity` or `perplexityStream`). */
export type PerplexityRequest = Omit<RequestBody, 'stream'>;
export type PerplexityResponse = z.infer<typeof PerplexityResponseSchema>;
/** One text's result: per-model figures, the ensemble, or the text's own error. */
export type TextResult = PerplexityResponse['results'][number];
/** The last line of a stream. */
export type StreamSummary = Omit<PerplexityResponse, 'results'>;
/** A line of `perplexityStream`: a text's result (with its `index`) or, last, the summary. */
export type StreamLine = TextResult | { summary: StreamSummary };
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;
/** `GET /v1/calibration`. */
export type CalibrationResponse = z.infer<typeof CalibrationResponseSchema>;
export type ReadyResponse = z.infer<typeof ReadyResponseSchema>;
/** `POST /ensemble_perplexity` answer: perplexity per prompt, per model. */
export type LegacyPerplexityResponse = Record<string, number[]>;

/** Narrows a stream line to the summary. */
export function isSummaryLine(line: StreamLine): line is { summary: StreamSummary } {
  return 'summary' in line;
}
