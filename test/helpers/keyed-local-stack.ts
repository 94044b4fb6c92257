/**
 * The local stack as `npm start` runs it, for end-to-end tests: the four local-lm models on loopback and a
 * controller that needs an API key from a file store.
 */
import type { RunningController } from '../../controller/main.ts';
import { startLocalFleet } from '../../images/local-lm/index.ts';
import { startTestController } from './controller.ts';
import { writeKeyStoreFile } from './key-store-file.ts';
import { tempDir } from './temp-dir.ts';

export interface KeyedLocalStack {
  readonly url: string;
  readonly key: string;
  readonly models: readonly string[];
  readonly controller: RunningController;
  close(): Promise<void>;
}

export async function startKeyedLocalStack(): Promise<KeyedLocalStack> {
  const { store, keys } = writeKeyStoreFile(tempDir('ep-stack-'), ['test']);
  const fleet = await startLocalFleet({ host: '127.0.0.1' });
  let controller: RunningController;
  try {
    controller = await startTestController({
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
      auth: { store },
    });
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return {
    url: controller.url,
    key: keys[0]!.key,
    models: fleet.servers.map((s) => s.servedName),
    controller,
    async close() {
      await controller.close();
      await fleet.close();
    },
  };
}
