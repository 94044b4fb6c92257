/**
 * @module
 * `boundedBody`: reads a request body under a byte cap and an idle timeout, after the key was checked and before
 * any handler parses it. The cap is chosen from the headers and holds for every transfer coding: a declared
 * `Content-Length` over it is refused before a byte is read, a chunked body the moment it passes it. The text is
 * handed to Hono's body cache, so the route's validator parses exactly the bytes read here.
 *
 * Also refused from the headers alone: a `Content-Encoding` (415; bodies are never decompressed, so a gzip bomb
 * has nothing to inflate) and a charset other than UTF-8 (415; the body would otherwise be decoded as UTF-8).
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError, fieldPath } from '../errors.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Bytes of the request body read by `boundedBody`. */
    bodyBytes: number;
  }
}

export interface BoundedBodyOptions {
  /** The body cap of this request (413 beyond), decided from its headers. */
  maxBytes: (c: Context) => number;
  /** Longest pause between two pieces of the body (408 beyond). */
  idleMs: number;
}

/** The client closed the connection before its request was read: nobody is left to answer. */
export class ClientClosedError extends ApiError {
  override name = 'ClientClosedError';
  constructor() {
    // 499, nginx's "client closed request": not a server fault, so never a 5xx in logs or metrics.
    super(499 as 400, 'client_closed', 'the client closed the connection before sending the body');
  }
}

const CLOSE = { connection: 'close' };

export function boundedBody(options: BoundedBodyOptions): MiddlewareHandler {
  return async function boundedBody(c, next) {
    if (c.req.method !== 'POST' && c.req.method !== 'PUT' && c.req.method !== 'PATCH')
      return next();
    checkEncoding(c);
    const max = options.maxBytes(c);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > max) throw tooLarge(max);
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const bytes = incoming
      ? await readIncoming(incoming, max, options.idleMs)
      : await readWebStream(c.req.raw.body, max);
    c.set('bodyBytes', bytes.byteLength);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw new ApiError(400, 'invalid_request', 'the request body is not valid UTF-8', {
        param: '(body)',
      });
    }
    if (text.includes('__proto__')) refuseProtoKey(text);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    await next();
  };
}

/**
 * JSON.parse keeps a `"__proto__"` key as an own property, but schema parsing drops it silently (it would set the
 * prototype), so `weights: {"__proto__": 5}` would be ignored without a word. No field of the API takes that name.
 */
function refuseProtoKey(text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return; // not JSON: the route's validator says so
  }
  const path = protoKeyPath(value, []);
  if (path) {
    const param = fieldPath(path);
    throw new ApiError(400, 'invalid_request', `${param}: "__proto__" is not an allowed key`, {
      param,
    });
  }
}

function protoKeyPath(value: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyPath(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return [...path, key];
    const found = protoKeyPath((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function checkEncoding(c: Context): void {
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      'Content-Encoding is not supported: send the JSON body uncompressed',
      { param: 'Content-Encoding', headers: CLOSE },
    );
  }
  const type = c.req.header('content-type');
  const charset = type && /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type)?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      'the body must be UTF-8: send Content-Type: application/json (charset=utf-8)',
      { param: 'Content-Type', headers: CLOSE },
    );
  }
}

function tooLarge(max: number): ApiError {
  // The rest of the body is never read, so the connection cannot be reused: say so, or a keep-alive client sends
  // its next request into a socket the server is about to drop.
  return new ApiError(413, 'payload_too_large', `the request body exceeds ${max} bytes`, {
    headers: CLOSE,
  });
}

/** Reads a Node request body, stopping at `max` bytes or after `idleMs` without data. */
function readIncoming(incoming: IncomingMessage, max: number, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      stop();
      reject(
        new ApiError(408, 'request_timeout', `no body data for ${idleMs} ms`, { headers: CLOSE }),
      );
    }, idleMs);
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        stop();
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
      timer.refresh();
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onGone = () => {
      if (incoming.readableEnded) return onEnd();
      stop();
      reject(new ClientClosedError());
    };
    function stop() {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onGone);
      incoming.off('close', onGone);
      incoming.pause();
    }
    if (incoming.readableEnded) return onEnd();
    if (incoming.destroyed) return onGone();
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onGone);
    incoming.resume();
  });
}

/** The same cap for a body without a socket (`app.request()`). */
async function readWebStream(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
