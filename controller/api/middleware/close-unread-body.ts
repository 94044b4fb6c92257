/**
 * @module
 * `closeUnreadBody`: a response sent before the request's body has arrived (a 401 to a keyless upload, a 404,
 * a 413) closes the connection. Otherwise Node would read and discard the rest of the body to reuse the socket,
 * and a client without a key could keep a connection busy with gigabytes.
 */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';

export const closeUnreadBody: MiddlewareHandler = async function closeUnreadBody(c, next) {
  await next();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.complete) c.res.headers.set('connection', 'close');
};
