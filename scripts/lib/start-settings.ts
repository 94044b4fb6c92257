/**
 * @module
 * `npm start`'s settings, checked before anything is loaded or any key is touched: a wrong PORT or a busy port
 * is reported at once, naming the variable to change.
 */
import { createServer } from 'node:net';

export interface StartSettings {
  readonly port: number;
  readonly host: string;
}

/** A setting the user must change; the message names the environment variable. */
export class StartSettingsError extends Error {
  override name = 'StartSettingsError';
}

/** Reads PORT (default 8000; 0 picks a free port) and HOST (default 127.0.0.1). */
export function readStartSettings(env: NodeJS.ProcessEnv): StartSettings {
  const rawPort = env.PORT?.trim() || '8000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) {
    throw new StartSettingsError(
      `PORT must be a whole number from 0 to 65535 (0 picks a free port), got "${env.PORT}"`,
    );
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  return { port, host };
}

/** Resolves when `host:port` can be listened on; rejects with a message naming PORT (or HOST) otherwise. */
export async function checkPortFree({ port, host }: StartSettings): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new StartSettingsError(
            `PORT ${port} is already in use on ${host} (another npm start?). Stop that process or choose another port: PORT=${port + 1} npm start`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new StartSettingsError(
            `PORT ${port} needs privileges on ${host}; choose a port above 1023`,
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new StartSettingsError(`HOST ${host} is not an address of this machine`));
      } else {
        reject(err);
      }
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
