/**
 * @module
 * The node:http server's own limits, which hold before the app or a key check sees a request: how long a client
 * may take to send headers and body, how many connections may be open, how long an idle keep-alive connection
 * lives. Node's defaults (5 min to send a request, no connection cap) let keyless clients hold sockets and
 * descriptors until the controller's own backend calls fail with EMFILE.
 */
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ControllerConfig } from '../../config.ts';
import { connectionBudget, openFileLimit, type ConnectionBudget } from './file-descriptors.ts';

/** Options for `http.createServer` (some can only be given there). */
export function serverOptions(config: ControllerConfig): ServerOptions {
  const { server } = config;
  const requestTimeout = server.requestTimeoutMs;
  return {
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeout: Math.min(server.headersTimeoutMs, requestTimeout),
    requestTimeout,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    // Node checks both timeouts on this period (default 30 s), so a 10 s limit would otherwise act as 40 s.
    connectionsCheckingInterval: Math.max(
      250,
      Math.min(1_000, Math.floor(server.headersTimeoutMs / 4)),
    ),
  };
}

/**
 * Caps the connections of a listening `server` so the open-file limit keeps `reservedFileDescriptors` free, and
 * limits keep-alive reuse. Connections over the cap are closed by Node as they arrive; when the server nears the
 * cap it closes its idle keep-alive connections and the oldest connections that have sent no request yet.
 */
export function limitConnections(
  server: Server,
  config: ControllerConfig,
  logger: Logger,
): ConnectionBudget {
  const budget = connectionBudget({
    configured: config.server.maxConnections,
    reserved: config.server.reservedFileDescriptors,
    openFileLimit: openFileLimit(),
  });
  server.maxConnections = budget.maxConnections;
  server.maxRequestsPerSocket = config.server.maxRequestsPerSocket;
  let open = 0;
  // Connections that have not yet delivered a request, oldest first (a Set keeps insertion order).
  const waiting = new Set<Socket>();
  const nearCap = Math.max(1, Math.floor(budget.maxConnections * 0.9));
  server.on('connection', (socket: Socket) => {
    open += 1;
    waiting.add(socket);
    socket.once('close', () => {
      open -= 1;
      waiting.delete(socket);
    });
    if (open < nearCap) return;
    // Near the cap, make room before Node starts refusing: first idle keep-alive connections, then the oldest
    // connections that never sent a request. A flood of silent sockets then evicts itself, while a client that
    // sends its request at once gets through.
    server.closeIdleConnections();
    for (const old of waiting) {
      if (open < nearCap || old === socket) break;
      waiting.delete(old);
      old.destroy();
    }
  });
  server.on('request', (req: IncomingMessage) => waiting.delete(req.socket));
  let dropped = 0;
  let reported = 0;
  server.on('drop', () => {
    dropped += 1;
    // One line per burst, not per connection: a flood must not become a log flood.
    const now = Date.now();
    if (now - reported >= 10_000) {
      reported = now;
      logger.warn(
        { dropped, maxConnections: budget.maxConnections },
        'connection cap reached: new connections are closed',
      );
      dropped = 0;
    }
  });
  return budget;
}
