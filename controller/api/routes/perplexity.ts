/**
 * @module
 * `POST /v1/perplexity`: per-model and ensemble figures for each text, in request order.
 */
import { createRoute } from '@hono/zod-openapi';
import type { z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerConfig } from '../../config.ts';
import { scoreEnsemble } from '../../scheduler/ensemble-scorer.ts';
import type { EnsembleResponse } from '../../scheduler/ensemble-scorer.ts';
import type { ModelRegistry } from '../../scheduler/model-registry.ts';
import { alignTokenOffsets } from '../../scoring/token-offsets.ts';
import { tallyResponse } from '../../observability/request-context.ts';
import { ApiError } from '../errors.ts';
import { chargeScoredTokens } from '../middleware/auth.ts';
import { ErrorSchema, PerplexityResponseSchema, perplexityRequestSchema } from '../schemas.ts';
import { NDJSON, PerplexityStreamLineSchema, streamPerplexity } from './perplexity-stream.ts';
import { resolveModels, requestSignal, checkTotalBytes } from './selection.ts';

const errors = (description: string) => ({
  content: { 'application/json': { schema: ErrorSchema } },
  description,
});

export function registerPerplexityRoute(
  app: OpenAPIHono,
  config: ControllerConfig,
  registry: ModelRegistry,
): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/perplexity',
    summary: 'Score texts with every model and the ensemble',
    description:
      "Per text: each model's perplexity, NLL, token count and bits-per-byte, and the ensemble over the models that answered. Texts longer than a model's context are scored in rolling windows; nothing is truncated.",
    security: [{ apiKey: [] }],
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: perplexityRequestSchema(config.limits, config.timeouts.maxRequestMs),
          },
        },
      },
    },
    responses: {
      200: {
        content: {
          'application/json': { schema: PerplexityResponseSchema },
          [NDJSON]: { schema: PerplexityStreamLineSchema },
        },
        description:
          'Scores; with `"stream": true`, NDJSON lines as texts complete, then a summary line',
      },
      400: errors('Invalid request: the message and `param` name the field'),
      401: errors('Missing or invalid API key'),
      404: errors('Unknown model'),
      413: errors('Body or texts over the size limits'),
      429: errors('Rate limit exceeded (see Retry-After)'),
      503: errors('Not enough models available, or the queue is full (see Retry-After)'),
      504: errors('The deadline passed'),
    },
  });

  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    // The route's typed responses know JSON and text only; the NDJSON stream is a plain Response.
    if (body.stream) return (await streamPerplexity(c, body, config, registry)) as never;
    checkBodyBytes(c.req.header('content-length'), config.limits.maxBodyBytes);
    checkTotalBytes(body.texts, config.limits.maxTotalTextBytes, 'texts');
    const selection = resolveModels(registry, config, {
      models: body.models,
      minModels: body.min_models,
      weights: body.weights,
    });
    const signal = requestSignal(c.req.raw.signal, body.timeout_ms ?? config.timeouts.requestMs);
    const withDetail = body.details === 'tokens';
    const response = await scoreEnsemble({
      texts: body.texts,
      models: selection.schedulers,
      unavailableModels: selection.unavailable,
      weights: selection.weights,
      minModels: selection.minModels,
      withDetail,
      signal,
    });
    chargeScoredTokens(c, response.usage.tokens);
    tallyResponse(c, response);
    if (withDetail) addOffsets(body.texts, response);
    // token_details gained their offsets above; the schema documents the finished shape.
    return c.json(response as unknown as z.infer<typeof PerplexityResponseSchema>, 200);
  });
}

function addOffsets(texts: readonly string[], response: EnsembleResponse): void {
  for (const result of response.results) {
    for (const model of Object.values(result.models)) {
      if (!('token_details' in model) || !model.token_details) continue;
      const offsets = alignTokenOffsets(
        texts[result.index] as string,
        model.token_details.map((t) => t.text),
      );
      model.token_details = model.token_details.map((t, i) => ({
        ...t,
        offset: offsets[i] ?? null,
      }));
    }
  }
}

/** The body limit of this route admits streams; a plain request keeps the smaller `maxBodyBytes`. */
function checkBodyBytes(contentLength: string | undefined, max: number): void {
  if (contentLength !== undefined && Number(contentLength) > max) {
    throw new ApiError(413, 'payload_too_large', `the request body exceeds ${max} bytes`);
  }
}
