/**
 * @module
 * Several local models at once, one server each: what `npm start` and end-to-end tests run in place of the
 * four-GPU host. Models load (or train, in parallel worker threads) concurrently.
 */
import { loadModel } from './models.ts';
import { DEFAULT_MODEL_NAMES } from './model-specs.ts';
import { startLocalLm, type LocalLmOptions, type LocalLmServer } from './server/local-lm-server.ts';

export interface LocalFleetOptions extends Omit<LocalLmOptions, 'model' | 'port'> {
  /** Served names of default models. @default DEFAULT_MODEL_NAMES */
  names?: readonly string[];
  /** First port; model i listens on basePort + i. @default - OS-chosen ports */
  basePort?: number;
}

export interface LocalFleet {
  servers: LocalLmServer[];
  close(): Promise<void>;
}

export async function startLocalFleet(opts: LocalFleetOptions = {}): Promise<LocalFleet> {
  const { names = DEFAULT_MODEL_NAMES, basePort, ...rest } = opts;
  const models = await Promise.all(names.map((n) => loadModel(n, { cacheDir: rest.cacheDir })));
  const servers: LocalLmServer[] = [];
  try {
    for (const [i, model] of models.entries()) {
      servers.push(
        await startLocalLm({ ...rest, model, port: basePort === undefined ? 0 : basePort + i }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return { servers, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
}
