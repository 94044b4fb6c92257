/**
 * @module
 * `POST /v1/perplexity`: per-model and ensemble figures for each text, in request order.
 */
import { createRoute } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerConfig } from '../../config.ts';
import { bodyTooLarge } from '../errors.ts';
import { errorResponse, PerplexityResponseSchema, perplexityRequestSchema } from '../schemas.ts';
import { NDJSON, PerplexityStreamLineSchema, ndjsonResponse } from './perplexity-stream.ts';
import type { ScoreTextsRequest, ScoringService } from './scoring-service.ts';

export function registerPerplexityRoute(
  app: OpenAPIHono,
  config: ControllerConfig,
  scoring: ScoringService,
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
      400: errorResponse('Invalid request: the message and `param` name the field'),
      401: errorResponse('Missing or invalid API key'),
      404: errorResponse('Unknown model'),
      413: errorResponse('Body or texts over the size limits'),
      405: errorResponse('Wrong method: this path takes POST (see the Allow header)'),
      415: errorResponse('The body is not `application/json` (UTF-8, not compressed)'),
      429: errorResponse('Rate limit exceeded (see Retry-After)'),
      503: errorResponse('Not enough models available, or the queue is full (see Retry-After)'),
      504: errorResponse('The deadline passed'),
    },
  });

  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const request: ScoreTextsRequest = {
      texts: body.texts,
      models: body.models,
      minModels: body.min_models,
      weights: body.weights,
      withDetail: false,
      detection: {
        details: body.details,
        window_chars: body.window_chars,
        flag_fpr: body.flag_fpr,
      },
      timeoutMs: body.timeout_ms,
      cache: body.cache,
    };
    if (body.stream) return ndjsonResponse(c, await scoring.stream(c, request));
    checkBodyBytes(c.req.header('content-length'), config.limits);
    return c.json(await scoring.score(c, request), 200);
  });
}

/** The body limit of this route admits streams; a plain request keeps the smaller `maxBodyBytes`. */
function checkBodyBytes(
  contentLength: string | undefined,
  limits: { maxBodyBytes: number; maxStreamBodyBytes: number },
): void {
  if (contentLength !== undefined && Number(contentLength) > limits.maxBodyBytes) {
    throw bodyTooLarge(limits.maxBodyBytes, limits.maxStreamBodyBytes);
  }
}
