/**
 * @module
 * Raw TCP clients for the scenarios: what `fetch` hides (a body that never ends, a client that stops reading,
 * the moment the server answers or closes) is what they measure.
 */
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';

export interface RawClient {
  readonly socket: Socket;
  /** ms since connect when the first response byte arrived, if it has. */
  firstByteMs(): number | undefined;
  /** ms since connect when the socket closed, if it has. */
  closedMs(): number | undefined;
  received(): string;
  /** Resolves once closed (true) or after `ms` (false). */
  waitClosed(ms: number): Promise<boolean>;
  /** Resolves once the response contains `text` (true) or after `ms` (false). */
  waitFor(text: string, ms: number): Promise<boolean>;
}

export function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first: number | undefined;
    let closed: number | undefined;
    let data = '';
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(client));
    socket.once('error', (err) =>
      closed === undefined && first === undefined ? reject(err) : undefined,
    );
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      first ??= performance.now() - started;
      // Only the head matters; a stream's body is not kept.
      if (data.length < 4_096) data += chunk.toString('latin1');
    });
    socket.on('close', () => (closed = performance.now() - started));
    const until = (done: () => boolean, ms: number) =>
      new Promise<boolean>((res) => {
        const deadline = performance.now() + ms;
        const tick = () => {
          if (done()) return res(true);
          if (performance.now() > deadline) return res(false);
          setTimeout(tick, 10);
        };
        tick();
      });
    const client: RawClient = {
      socket,
      firstByteMs: () => first,
      closedMs: () => closed,
      received: () => data,
      waitClosed: (ms) => until(() => closed !== undefined, ms),
      waitFor: (text, ms) => until(() => data.includes(text), ms),
    };
  });
}

/** Writes `chunk` and waits for the socket to take it; false once the socket is gone. */
export function writeDrained(socket: Socket, chunk: string | Uint8Array): Promise<boolean> {
  if (socket.destroyed || !socket.writable) return Promise.resolve(false);
  return new Promise((resolve) => {
    const ok = socket.write(chunk, (err) => (err ? resolve(false) : undefined));
    if (ok) return resolve(true);
    const done = (value: boolean) => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(value);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * Whether the server still holds its end of a connection open (ESTABLISHED), read from /proc/net/tcp. A paused
 * client cannot see the server's close itself; the kernel's table can.
 */
export async function serverEndOpen(serverPort: number, clientPort: number): Promise<boolean> {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return (
      cols[1]?.endsWith(`:${hex(serverPort)}`) &&
      cols[2]?.endsWith(`:${hex(clientPort)}`) &&
      cols[3] === '01'
    );
  });
}

export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

export const round = (value: number, digits = 1): number =>
  Math.round(value * 10 ** digits) / 10 ** digits;
