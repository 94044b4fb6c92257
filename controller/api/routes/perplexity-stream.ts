/**
 * @module
 * `POST /v1/perplexity` with `"stream": true`: NDJSON, one line per text in completion order (each carries its
 * `index`), then `{"summary": {...}}`. Failures before the first line get a normal JSON error and status (the
 * scoring service throws them); after it, the stream ends with `{"error": {...}}`. Lines are produced only as
 * fast as the client reads them (pull-based), and at most a window of texts is in flight, so a 100k-text job
 * costs no more memory than a small one beyond its parsed request.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { scoringTally } from '../request-context.ts';
import { toErrorResponse } from '../errors.ts';
import { ErrorSchema, PerplexityResponseSchema } from '../schemas.ts';
import type { TextStream } from './scoring-service.ts';

/**
 * The stream's media type. Typed as `string`, not its literal: @hono/zod-openapi types JSON and text bodies only,
 * and a media type it cannot type lets the route's handler return the stream as a plain `Response`.
 */
export const NDJSON: string = 'application/x-ndjson';

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

/** Writes a stream's results as NDJSON, one line each, as the client reads them. */
export function ndjsonResponse(c: Context, results: TextStream) {
  const end = scoringTally(c).startStream();
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
  let closed = false;

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await results.next();
          if (closed) return;
          if (next.done) {
            controller.enqueue(line({ summary: next.value }));
            controller.close();
            closed = true;
            end();
            return;
          }
          controller.enqueue(line(next.value));
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
        // The client went away: stop scoring what is still in flight. That is the client's choice, not a fault.
        if (!closed) {
          scoringTally(c).clientClosed = true;
          end();
        }
        closed = true;
        await results.cancel();
      },
    },
    // A few lines of slack between scoring and the socket; beyond that the client's reading pace rules.
    new CountQueuingStrategy({ highWaterMark: 16 }),
  );
  // Through the context, so headers set by middleware before the handler (X-Request-Id) are kept.
  return c.body(stream, 200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
}
