/**
 * @module
 * `GET /metrics`: the controller's Prometheus exposition. Whether it needs an API key
 * (`auth.metricsRequireKey`) is decided where the app is composed, not here.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerMetrics } from '../../observability/metrics.ts';

export function registerMetricsRoute(app: OpenAPIHono, metrics: ControllerMetrics): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      description:
        'Requests by route and status, backend latency and errors, queue depth, batch sizes, tokens scored by model and by API key id, cache hits, degraded answers, backend health, and Node process metrics.',
      responses: {
        200: {
          content: { 'text/plain': { schema: z.string() } },
          description: 'Prometheus text exposition format 0.0.4',
        },
      },
    }),
    async (c) => {
      const body = await metrics.render();
      return c.text(body, 200, { 'Content-Type': metrics.contentType });
    },
  );
}
