/**
 * @module
 * The earlier Python API (haizelabs/ensembled-perplexity), so its users can switch without code changes:
 * `POST /ensemble_perplexity {"prompts": [...]}` → `{model: [perplexity, ...]}` and `GET /ensemble_model_names`.
 * `model_names` takes exact, comma-separated names (the original matched substrings).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerConfig } from '../../config.ts';
import type { ModelRegistry } from '../../models/model-registry.ts';
import { ApiError } from '../errors.ts';
import {
  errorResponse,
  LegacyQuerySchema,
  LegacyResponseSchema,
  legacyRequestSchema,
} from '../schemas.ts';
import type { ScoringService } from './scoring-service.ts';

export function registerLegacyRoutes(
  app: OpenAPIHono,
  config: ControllerConfig,
  registry: ModelRegistry,
  scoring: ScoringService,
): void {
  const scoreRoute = createRoute({
    method: 'post',
    path: '/ensemble_perplexity',
    summary: 'Perplexity per model (compatible with the earlier Python API)',
    security: [{ apiKey: [] }],
    request: {
      query: LegacyQuerySchema,
      body: {
        required: true,
        content: { 'application/json': { schema: legacyRequestSchema(config.limits) } },
      },
    },
    responses: {
      200: {
        content: { 'application/json': { schema: LegacyResponseSchema } },
        description: '{model: [perplexity per prompt]}',
      },
      400: errorResponse('Invalid request'),
      401: errorResponse('Missing or invalid API key'),
      404: errorResponse('Unknown model'),
      405: errorResponse('Wrong method: this path takes POST (see the Allow header)'),
      413: errorResponse('Body or prompts over the size limits'),
      415: errorResponse('The body is not `application/json` (UTF-8, not compressed)'),
      422: errorResponse('A prompt cannot be scored (e.g. empty); `param` names it'),
      503: errorResponse('A model is unavailable'),
      504: errorResponse('The deadline passed'),
    },
  });

  app.openapi(scoreRoute, async (c) => {
    const { prompts } = c.req.valid('json');
    const { model_names } = c.req.valid('query');
    const models = model_names
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const names = models && models.length > 0 ? models : registry.names;
    // Every named model must answer: the old API has no degraded results.
    const response = await scoring.score(
      c,
      { texts: prompts, models: names, minModels: names.length, withDetail: false },
      { texts: 'prompts', models: 'model_names', minModels: 'model_names', weights: 'weights' },
    );
    const out: Record<string, number[]> = {};
    for (const name of names) out[name] = [];
    for (const result of response.results) {
      for (const name of names) {
        const figures = result.models[name];
        if (!figures || 'error' in figures) {
          const why = figures && 'error' in figures ? figures.error.message : 'not scored';
          throw new ApiError(
            422,
            'unscorable_prompt',
            `prompts[${result.index}] (${name}): ${why}`,
            {
              param: `prompts[${result.index}]`,
            },
          );
        }
        out[name]?.push(figures.perplexity);
      }
    }
    return c.json(out, 200);
  });

  const namesRoute = createRoute({
    method: 'get',
    path: '/ensemble_model_names',
    summary: 'Model names (compatible with the earlier Python API)',
    responses: {
      200: {
        content: { 'application/json': { schema: z.array(z.string()) } },
        description: 'Model names',
      },
    },
  });
  app.openapi(namesRoute, (c) => c.json(registry.names, 200));
}
