/**
 * @module
 * An http.Server that can stop listening and later listen again on the SAME port (the `refuse` fault), and
 * that tracks its sockets so closing never leaves a handle behind (idle keep-alive and hanging ones included).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export class Listener {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private listening = false;
  private currentPort: number;

  constructor(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly host: string,
    port: number,
  ) {
    this.currentPort = port;
    this.server = createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** The bound port (the OS-chosen one after the first listen on port 0). */
  get port(): number {
    return this.currentPort;
  }

  get isListening(): boolean {
    return this.listening;
  }

  listen(): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.currentPort, this.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.currentPort = addr.port;
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stops accepting connections and destroys every open one; resolves once the port is free. */
  stop(): Promise<void> {
    if (!this.listening) {
      this.destroySockets();
      return Promise.resolve();
    }
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.destroySockets();
    });
  }

  private destroySockets(): void {
    for (const s of this.sockets) s.destroy();
  }
}
