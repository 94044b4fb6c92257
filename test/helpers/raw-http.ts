/**
 * Raw HTTP/1.1 on loopback for tests that need what `fetch` hides: a body that never ends, bytes Node's parser
 * refuses, the moment the server answers and the moment it closes the socket.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server's bytes contain `text`, rejects after `ms`. */
  waitFor(text: string, ms: number): Promise<string>;
  /** Resolves when the server has closed (or reset) the socket, rejects after `ms`. */
  closed(ms: number): Promise<void>;
  /** Writes, ignoring errors of a socket the server already closed. */
  write(data: string | Uint8Array): boolean;
}

export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(connection));
    socket.once('error', reject);
    let data = '';
    let isClosed = false;
    const waiters = new Set<() => void>();
    const notify = () => {
      for (const w of [...waiters]) w();
    };
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      isClosed = true;
      notify();
    });
    const until = (done: () => boolean, ms: number, what: string) =>
      new Promise<void>((res, rej) => {
        if (done()) return res();
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(
            new Error(
              `timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(data.slice(0, 300))}`,
            ),
          );
        }, ms);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          res();
        };
        waiters.add(check);
      });
    const connection: RawConnection = {
      socket,
      received: () => data,
      waitFor: async (text, ms) => {
        await until(() => data.includes(text), ms, JSON.stringify(text));
        return data;
      },
      closed: (ms) => until(() => isClosed, ms, 'the socket to close'),
      write: (chunk) => {
        if (socket.destroyed || !socket.writable) return false;
        return socket.write(chunk);
      },
    };
  });
}

/** The JSON body of a raw response (after the blank line). */
export function rawJsonBody(response: string): any {
  const start = response.indexOf('\r\n\r\n');
  let body = response.slice(start + 4);
  // A chunked body: drop the chunk-size lines.
  if (/transfer-encoding: chunked/i.test(response.slice(0, start))) {
    body = body
      .split('\r\n')
      .filter((_, i) => i % 2 === 1)
      .join('');
  }
  return JSON.parse(body);
}

/** The status code of a raw response. */
export const rawStatus = (response: string): number =>
  Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
