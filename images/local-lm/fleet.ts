/**
 * @module
 * Several local models at once, one server each: what `npm start` and end-to-end tests run in place of the
 * four-GPU host. Models load (or train, in parallel worker threads) concurrently.
 */
import { loadModel } from './models.ts';
import { DEFAULT_MODEL_NAMES } from './model-specs.ts';
import { startLocalLm, type LocalLmOptions, type LocalLmServer } from './server/local-lm-server.ts';
import { timingForFamily, type ModelFamily } from './server/timing-profiles.ts';

/**
 * Which production model each default stands in for, for per-model timing rows: the BOS-less GPT-2 model plays
 * phi-2, the cl100k model plays vicuna (a Llama-2 shape).
 */
export const STAND_IN_FAMILY: Readonly<Record<string, ModelFamily>> = {
  'llama-sotu': 'llama',
  'mistral-moby': 'mistral',
  'gpt2-brown': 'phi2',
  'cl100k-mix': 'llama',
};

export interface LocalFleetOptions extends Omit<LocalLmOptions, 'model' | 'port'> {
  /** Served names of default models. @default DEFAULT_MODEL_NAMES */
  names?: readonly string[];
  /** First port; model i listens on basePort + i. @default - OS-chosen ports */
  basePort?: number;
  // `timing` (from LocalLmOptions): a short profile name such as 'l4-goal-bf16' picks each model's own row
  // (mistral-moby → the Mistral row, gpt2-brown → phi-2, the others → Llama-2), as on the real host.
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
      const timing = rest.timing
        ? timingForFamily(rest.timing, STAND_IN_FAMILY[model.name] ?? 'mistral')
        : null;
      const port = basePort === undefined ? 0 : basePort + i;
      servers.push(await startLocalLm({ ...rest, model, port, timing }));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return { servers, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
}
