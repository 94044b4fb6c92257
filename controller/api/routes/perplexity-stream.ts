/**
 * @module
 * `POST /v1/perplexity` with `"stream": true`: NDJSON, one line per text in completion order (each carries its
 * `index`), then `{"summary": {...}}`. Failures before the first line get a normal JSON error and status; after
 * it, the stream ends with `{"error": {...}}`. Lines are produced only as fast as the client reads them
 * (pull-based), and at most a window of texts is in flight, so a 100k-text job costs no more memory than a
 * small one beyond its parsed request.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ControllerConfig } from '../../config.ts';
import { scoringTally } from '../../observability/request-context.ts';
import { streamEnsemble } from '../../scheduler/ensemble-stream.ts';
import type { EnsembleStreamSummary } from '../../scheduler/ensemble-stream.ts';
import type { TextResult } from '../../scheduler/ensemble-scorer.ts';
import type { ModelRegistry } from '../../scheduler/model-registry.ts';
import { alignTokenOffsets } from '../../scoring/token-offsets.ts';
import { toErrorResponse } from '../errors.ts';
import { chargeScoredTokens } from '../middleware/auth.ts';
import { ErrorSchema, PerplexityResponseSchema } from '../schemas.ts';
import { checkTotalBytes, resolveModels } from './selection.ts';

export const NDJSON = 'application/x-ndjson';

/** One line of the stream, for the OpenAPI document. */
export const PerplexityStreamLineSchema = z
  .union([
    PerplexityResponseSchema.shape.results.element,
    z.object({ summary: PerplexityResponseSchema.omit({ results: true }) }),
    ErrorSchema,
  ])
  .openapi('PerplexityStreamLine', {
    description:
      'One NDJSON line: a text result (with its `index`), the final `summary`, or a final `error`.',
  });

/** The validated request fields the stream uses. */
export interface StreamRequestBody {
  texts: string[];
  models?: string[] | undefined;
  min_models?: number | undefined;
  weights?: Record<string, number> | undefined;
  details: 'none' | 'tokens';
  timeout_ms?: number | undefined;
}

/** Largest share of a model's queue one stream may hold, so a big job leaves room for other requests. */
const MAX_QUEUE_SHARE = 0.25;

/**
 * Texts a stream keeps in flight: enough for every backend of a model to have full batches in flight and the
 * next ones growing (twice the in-flight capacity), but at most a quarter of the model's queue.
 */
export function streamWindow(config: ControllerConfig): number {
  const { maxBatchPrompts, maxInflightPerBackend, maxQueuedTexts } = config.scheduler;
  const replicas = Math.max(1, ...config.models.map((m) => m.backends.length));
  const capacity = 2 * maxBatchPrompts * maxInflightPerBackend * replicas;
  return Math.max(1, Math.min(capacity, Math.floor(maxQueuedTexts * MAX_QUEUE_SHARE)));
}

export async function streamPerplexity(
  c: Context,
  body: StreamRequestBody,
  config: ControllerConfig,
  registry: ModelRegistry,
): Promise<Response> {
  checkTotalBytes(body.texts, config.limits.maxStreamBodyBytes, 'texts');
  const selection = resolveModels(registry, config, {
    models: body.models,
    minModels: body.min_models,
    weights: body.weights,
  });
  const withDetail = body.details === 'tokens';
  const tally = scoringTally(c);
  const results = streamEnsemble({
    texts: body.texts,
    models: selection.schedulers,
    unavailableModels: selection.unavailable,
    weights: selection.weights,
    minModels: selection.minModels,
    withDetail,
    signal: c.req.raw.signal,
    textTimeoutMs: body.timeout_ms ?? config.timeouts.requestMs,
    window: streamWindow(config),
    onTokens: (tokensByModel) => {
      let total = 0;
      for (const n of tokensByModel.values()) total += n;
      chargeScoredTokens(c, total);
    },
  });

  // Wait for the first line, so a request that cannot start (quorum missed at once, queue full) still gets a
  // proper status instead of a 200 with an error line.
  let first: IteratorResult<TextResult, EnsembleStreamSummary>;
  try {
    first = await results.next();
  } catch (err) {
    await results.return(undefined as never).catch(() => {});
    throw err;
  }

  const end = tally.startStream();
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
  const textLine = (result: TextResult) => {
    tally.addText(tokensOf(result), result.ensemble?.degraded ?? false);
    if (withDetail) addOffsets(body.texts[result.index] as string, result);
    return line(result);
  };
  let pending: IteratorResult<TextResult, EnsembleStreamSummary> | undefined = first;
  let closed = false;

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = pending ?? (await results.next());
          pending = undefined;
          if (closed) return;
          if (next.done) {
            controller.enqueue(line({ summary: next.value }));
            controller.close();
            closed = true;
            end();
            return;
          }
          controller.enqueue(textLine(next.value));
        } catch (err) {
          // After a cancel the generator fails its in-flight texts; nobody is listening any more.
          if (closed) return;
          const { body: error } = toErrorResponse(err);
          controller.enqueue(line(error));
          controller.close();
          closed = true;
          end(error.error.type);
        }
      },
      async cancel() {
        // The client went away: stop scoring what is still in flight.
        if (!closed) end('cancelled');
        closed = true;
        await results.return(undefined as never);
      },
    },
    // A few lines of slack between scoring and the socket; beyond that the client's reading pace rules.
    new CountQueuingStrategy({ highWaterMark: 16 }),
  );
  // Through the context, so headers set by middleware before the handler (X-Request-Id) are kept.
  return c.body(stream, 200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
}

function tokensOf(result: TextResult): Map<string, number> {
  const tokens = new Map<string, number>();
  for (const [model, figures] of Object.entries(result.models)) {
    if ('tokens' in figures) tokens.set(model, figures.tokens);
  }
  return tokens;
}

/** Adds character offsets to each model's token details, as the whole-request route does. */
function addOffsets(text: string, result: TextResult): void {
  for (const model of Object.values(result.models)) {
    if (!('token_details' in model) || !model.token_details) continue;
    const offsets = alignTokenOffsets(
      text,
      model.token_details.map((t) => t.text),
    );
    model.token_details = model.token_details.map((t, i) => ({ ...t, offset: offsets[i] ?? null }));
  }
}
