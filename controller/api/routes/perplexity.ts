/**
 * @module
 * `POST /v1/perplexity`: per-model and ensemble figures for each text, in request order.
 */
import { createRoute } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerConfig } from '../../config.ts';
import { ApiError } from '../errors.ts';
import { errorResponse, PerplexityResponseSchema, perplexityRequestSchema } from '../schemas.ts';
import { NDJSON, PerplexityStreamLineSchema, ndjsonResponse } from './perplexity-stream.ts';
import type { ScoreTextsRequest, ScoringService } from './scoring-service.ts';
import type { StreamSlots } from '../stream-slots.ts';

export function registerPerplexityRoute(
  app: OpenAPIHono,
  config: ControllerConfig,
  scoring: ScoringService,
  streams: StreamSlots,
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
      408: errorResponse('The body stopped arriving (`server.bodyIdleMs`)'),
      415: errorResponse(
        'A Content-Encoding, a charset other than UTF-8, or a body that is not JSON',
      ),
      429: errorResponse(
        'Rate limit exceeded, or too many streams open for this key (see Retry-After)',
      ),
      503: errorResponse(
        'Not enough models available, the queue is full or too many streams are open (see Retry-After)',
      ),
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
      withDetail: body.details === 'tokens',
      timeoutMs: body.timeout_ms,
    };
    if (body.stream) {
      const release = streams.acquire(c.get('keyId') ?? 'anonymous');
      try {
        return ndjsonResponse(c, await scoring.stream(c, request), {
          stallMs: config.timeouts.streamStallMs,
          onEnd: release,
        });
      } catch (err) {
        release();
        throw err;
      }
    }
    checkBodyBytes(c.get('bodyBytes'), config.limits.maxBodyBytes);
    return c.json(await scoring.score(c, request), 200);
  });
}

/**
 * The body limit of this route admits streams; a plain request keeps the smaller `maxBodyBytes`. Counted from the
 * bytes read, so a chunked body (no Content-Length) is held to it too.
 */
function checkBodyBytes(bytesRead: number | undefined, max: number): void {
  if (bytesRead !== undefined && bytesRead > max) {
    throw new ApiError(413, 'payload_too_large', `the request body exceeds ${max} bytes`);
  }
}
