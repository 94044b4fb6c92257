/**
 * The client writes the wire shapes out itself (it must not load server code); this checks them against the
 * server's zod schemas, at compile time (`tsc` in `npm test`) and at run time, so neither can drift: every field
 * the server accepts or sends has a client type, and every answer the server can give fits the client's types.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { LimitsSchema } from '../../../controller/config.ts';
import {
  ModelsResponseSchema,
  PerplexityResponseSchema,
  ReadyResponseSchema,
  perplexityRequestSchema,
} from '../../../controller/api/schemas.ts';
import { CalibrationResponseSchema } from '../../../controller/api/calibration-schemas.ts';
import type {
  CalibrationResponse,
  Ensemble,
  ModelFigures,
  ModelsResponse,
  PerplexityRequest,
  PerplexityResponse,
  ReadyResponse,
  TextResult,
  Usage,
} from '../../../clients/typescript/src/index.ts';

type ServerRequest = Omit<z.input<ReturnType<typeof perplexityRequestSchema>>, 'stream'>;
type ServerResponse = z.output<typeof PerplexityResponseSchema>;
type ServerResult = ServerResponse['results'][number];
type ServerEnsemble = NonNullable<ServerResult['ensemble']>;
type ServerFigures = Exclude<ServerResult['models'][string], { error: unknown }>;

/** Compiles only when `A` can be used where `B` is expected. */
type Fits<A, B> = [A] extends [B] ? true : never;
/** Compiles only when every key of `Server` is a key of `Client`. */
type Covers<Client, Server> = [Exclude<keyof Server, keyof Client>] extends [never] ? true : never;

// Everything the server accepts or answers fits the client's types, and no field is left untyped.
const compileTimeChecks: true[] = [
  true satisfies Fits<ServerRequest, PerplexityRequest>,
  true satisfies Covers<PerplexityRequest, ServerRequest>,
  true satisfies Fits<ServerResponse, PerplexityResponse>,
  true satisfies Covers<PerplexityResponse, ServerResponse>,
  true satisfies Covers<TextResult, ServerResult>,
  true satisfies Covers<Ensemble, ServerEnsemble>,
  true satisfies Covers<ModelFigures, ServerFigures>,
  true satisfies Covers<Usage, ServerResponse['usage']>,
  true satisfies Fits<z.output<typeof ModelsResponseSchema>, ModelsResponse>,
  true satisfies Covers<
    ModelsResponse['data'][number],
    z.output<typeof ModelsResponseSchema>['data'][number]
  >,
  true satisfies Fits<z.output<typeof ReadyResponseSchema>, ReadyResponse>,
  true satisfies Fits<z.output<typeof CalibrationResponseSchema>, CalibrationResponse>,
  true satisfies Covers<CalibrationResponse, z.output<typeof CalibrationResponseSchema>>,
  true satisfies Covers<ReadyResponse, z.output<typeof ReadyResponseSchema>>,
];

/** Every key of the client's types, listed once (the `satisfies` keeps each list complete). */
const requestKeys = Object.keys({
  texts: 1,
  models: 1,
  min_models: 1,
  weights: 1,
  details: 1,
  timeout_ms: 1,
  window_chars: 1,
  flag_fpr: 1,
  cache: 1,
} satisfies Record<keyof PerplexityRequest, 1>);
const resultKeys = Object.keys({
  index: 1,
  ensemble: 1,
  models: 1,
  error: 1,
} satisfies Record<keyof TextResult, 1>);
const ensembleKeys = Object.keys({
  perplexity: 1,
  bits_per_byte: 1,
  byte_perplexity: 1,
  spread: 1,
  models_used: 1,
  degraded: 1,
  missing_models: 1,
  percentile: 1,
  max_window: 1,
  spans: 1,
  flagged: 1,
  flag_reasons: 1,
} satisfies Record<keyof Ensemble, 1>);
const figuresKeys = Object.keys({
  perplexity: 1,
  nll: 1,
  tokens: 1,
  bits_per_byte: 1,
  word_perplexity: 1,
  windows: 1,
  percentile: 1,
  max_window_bits_per_byte: 1,
  token_details: 1,
} satisfies Record<keyof ModelFigures, 1>);

describe('client wire types', () => {
  it('name every field of the server schemas', () => {
    expect(compileTimeChecks.every(Boolean)).toBe(true);
    const request = perplexityRequestSchema(LimitsSchema.parse({}), 600_000);
    expect(requestKeys).toEqual(
      expect.arrayContaining(Object.keys(request.shape).filter((k) => k !== 'stream')),
    );
    const result = PerplexityResponseSchema.shape.results.element;
    expect(resultKeys).toEqual(expect.arrayContaining(Object.keys(result.shape)));
    const ensemble = result.shape.ensemble.unwrap();
    expect(ensembleKeys).toEqual(expect.arrayContaining(Object.keys(ensemble.shape)));
    const [figures] = result.shape.models.valueType.options;
    expect(figuresKeys).toEqual(expect.arrayContaining(Object.keys(figures.shape)));
  });
});
