/**
 * @module
 * Answers for requests Node's HTTP parser refuses before the app sees them: malformed request lines or headers
 * (400), headers too large (431), unsupported `Expect` (417), timeouts (408), and CONNECT (405). Node would
 * answer them with an empty body or not at all; the API promises `{"error": {...}}` for every failure.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorBody } from '../errors.ts';

/** Node's parser error codes and the status each earns. */
function statusFor(code: string | undefined): { status: number; type: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        type: 'headers_too_large',
        message: 'the request headers are too large',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        type: 'request_timeout',
        message: 'the request was not received in time',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        type: 'payload_too_large',
        message: 'the chunk extensions are too large',
      };
    default:
      return { status: 400, type: 'invalid_request', message: 'the request is not valid HTTP/1.1' };
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
};

/** A complete HTTP/1.1 response that closes the connection, for a socket the app never got. */
export function rawJsonResponse(status: number, type: string, message: string, extra = ''): string {
  const body = JSON.stringify(errorBody(type, message));
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
    'content-type: application/json\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `${extra}connection: close\r\n\r\n${body}`
  );
}

/** Installs the JSON answers on `server`. */
export function answerParserErrors(server: Server, logger: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or a socket already answering cannot take another response.
    const code = err.code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, type, message } = statusFor(code);
    logger.debug({ code, status }, 'HTTP parser refused a request');
    answerAndClose(socket, rawJsonResponse(status, type, message));
  });
  // Without a listener Node drops CONNECT requests without a word.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(
      rawJsonResponse(
        405,
        'method_not_allowed',
        'CONNECT is not supported',
        'allow: GET, POST\r\n',
      ),
    );
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(
      errorBody('expectation_failed', 'only "Expect: 100-continue" is supported', 'Expect'),
    );
    res.writeHead(417, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });
}

/**
 * Writes the answer and frees the descriptor once it is flushed. `end()` alone would wait for the client's FIN,
 * and a client that never reads never sends it: each such socket would hold a descriptor for good.
 */
function answerAndClose(socket: Duplex, response: string): void {
  socket.write(response);
  const net = socket as Duplex & { destroySoon?: () => void };
  if (typeof net.destroySoon === 'function') net.destroySoon();
  else socket.end(() => socket.destroy());
}
