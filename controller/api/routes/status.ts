/**
 * @module
 * Open status routes: `/healthz` (the process is alive), `/readyz` (enough models can serve: the load
 * balancer's health check), `/v1/models` (each model and its backends' state, never their addresses).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerConfig } from '../../config.ts';
import type { ModelRegistry } from '../../models/model-registry.ts';
import { ModelsResponseSchema, ReadyResponseSchema } from '../schemas.ts';

export function registerStatusRoutes(
  app: OpenAPIHono,
  config: ControllerConfig,
  registry: ModelRegistry,
  keysLoaded: () => boolean = () => true,
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      responses: {
        200: {
          content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
          description: 'Alive',
        },
      },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  const minReady = config.minModels ?? config.models.length;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: enough models have a healthy backend',
      responses: {
        200: {
          content: { 'application/json': { schema: ReadyResponseSchema } },
          description: 'Ready',
        },
        503: {
          content: { 'application/json': { schema: ReadyResponseSchema } },
          description: 'Not ready',
        },
      },
    }),
    (c) => {
      const ready = new Set(registry.readyModels());
      const models = Object.fromEntries(registry.names.map((n) => [n, ready.has(n)]));
      const keys = keysLoaded();
      const ok = ready.size >= minReady && keys;
      return c.json({ ready: ok, models, min_models: minReady, keys_loaded: keys }, ok ? 200 : 503);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/models',
      summary: 'Models, their context length and backend health',
      responses: {
        200: {
          content: { 'application/json': { schema: ModelsResponseSchema } },
          description: 'Models',
        },
      },
    }),
    (c) => {
      const ready = new Set(registry.readyModels());
      const data = [...registry.models.values()].map((m) => ({
        id: m.config.name,
        ready: ready.has(m.config.name) && m.config.unavailable === undefined,
        weight: m.config.weight,
        max_model_len: m.info?.maxModelLen ?? null,
        prefix_token_id: m.info?.prefixTokenId ?? null,
        unavailable: m.config.unavailable ?? null,
        backends: m.pool.backends.map((b) => ({
          id: b.id,
          state: b.state,
          inflight: b.inflight,
          last_error: b.lastError ? 'unreachable or failing' : null,
        })),
      }));
      return c.json({ object: 'list' as const, data }, 200);
    },
  );
}
