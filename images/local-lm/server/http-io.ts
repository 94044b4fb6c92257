/**
 * @module
 * Writing replies and reading bodies on raw node:http objects, including the two faults that need byte-level
 * control of the reply: a truncated JSON body, and a connection dropped halfway through the body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultSpec } from './faults.ts';

export interface Reply {
  status: number;
  body: string;
  contentType: string;
}

export const JSON_TYPE = 'application/json';

export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON_TYPE, JSON.stringify(value));
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Short bodies (health, errors) are replaced by a longer stand-in so "half a body" is still visibly broken. */
const STAND_IN = '{"id":"cmpl-0","object":"text_completion","choices":[]}';

/**
 * Writes a reply, applying a body fault if one is given. `onDrop` runs just before this side destroys the
 * socket (so the caller does not count it as a client cancel).
 */
export function sendReply(
  res: ServerResponse,
  reply: Reply,
  fault: FaultSpec | null,
  onDrop: () => void,
): void {
  const body = reply.body.length > 8 ? reply.body : STAND_IN;
  if (fault?.kind === 'malformedJson') {
    send(res, 200, JSON_TYPE, body.slice(0, Math.floor(body.length / 2)));
  } else if (fault?.kind === 'dieMidResponse') {
    const bytes = Buffer.from(body);
    // The full content-length is announced, so the client sees a premature end of the body.
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': bytes.length });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => {
      onDrop();
      res.socket?.destroy();
    });
  } else send(res, reply.status, reply.contentType, reply.body);
}
