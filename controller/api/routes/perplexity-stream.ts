/**
 * @module
 * `POST /v1/perplexity` with `"stream": true`: NDJSON, one line per text in completion order (each carries its
 * `index`), then `{"summary": {...}}`. Failures before the first line get a normal JSON error and status (the
 * scoring service throws them); after it, the stream ends with `{"error": {...}}`. Lines are produced only as
 * fast as the client reads them (pull-based), and at most a window of texts is in flight, so a 100k-text job
 * costs no more memory than a small one beyond its parsed request.
 */
import { z } from '@hono/zod-openapi';
import type { ServerResponse } from 'node:http';
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

export interface NdjsonOptions {
  /**
   * A client that has read nothing for this long while lines wait for it is dropped: the stream is cancelled
   * (its texts stop scoring and are released) and the connection closed.
   */
  readonly stallMs: number;
  /** Called once when the stream is over, however it ended (last line, error, cancel, stall). */
  readonly onEnd?: () => void;
}

/** Writes a stream's results as NDJSON, one line each, as the client reads them. */
export function ndjsonResponse(c: Context, results: TextStream, options: NdjsonOptions) {
  const tallyEnd = scoringTally(c).startStream();
  const end = (error?: string) => {
    clearTimeout(stallTimer);
    tallyEnd(error);
    options.onEnd?.();
  };
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
  let closed = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  // Called after each line is queued: with the queue full, the client is not reading; give it `stallMs`.
  const watchStall = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (closed || stallTimer !== undefined || (controller.desiredSize ?? 1) > 0) return;
    stallTimer = setTimeout(() => {
      if (closed) return;
      closed = true;
      end('stalled');
      void results.cancel();
      // The writer waits for a drain that will never come: only closing the socket releases it (and cancels
      // this stream). Without a socket (`app.request()`), failing the stream does.
      if (outgoing) outgoing.destroy();
      else controller.error(new Error('the client stopped reading'));
    }, options.stallMs);
    stallTimer.unref();
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // The client read: it is not stalled.
        clearTimeout(stallTimer);
        stallTimer = undefined;
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
          watchStall(controller);
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
        await results.cancel();
      },
    },
    // A few lines of slack between scoring and the socket; beyond that the client's reading pace rules.
    new CountQueuingStrategy({ highWaterMark: 16 }),
  );
  // Through the context, so headers set by middleware before the handler (X-Request-Id) are kept.
  return c.body(stream, 200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
}
