/** A loopback controller with one valid API key in a file store, in front of a fake vLLM. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import type { ControllerConfigInput } from '../../controller/config.ts';
import type { RunningController } from '../../controller/api/server.ts';
import { startTestController } from './controller.ts';
import { startFakeVllm, type FakeVllm, type FakeVllmOptions } from './fake-vllm.ts';
import { writeKeyStoreFile } from './key-store-file.ts';

export interface KeyedController {
  readonly controller: RunningController;
  readonly backend: FakeVllm;
  readonly port: number;
  /** A valid key: `Authorization: Bearer ${key}`. */
  readonly key: string;
  close(): Promise<void>;
}

export async function startKeyedController(
  overrides: Omit<ControllerConfigInput, 'host' | 'port' | 'models'> = {},
  options: { backend?: FakeVllmOptions; logDestination?: DestinationStream } = {},
): Promise<KeyedController> {
  const backend = await startFakeVllm(options.backend);
  const dir = mkdtempSync(join(tmpdir(), 'ep-keyed-'));
  const { store, keys } = writeKeyStoreFile(dir);
  const controller = await startTestController(
    {
      ...overrides,
      models: [{ name: 'm', backends: [backend.url] }],
      auth: { ...(overrides.auth ?? {}), store },
    },
    options.logDestination ? { logDestination: options.logDestination } : {},
  );
  return {
    controller,
    backend,
    port: controller.port,
    key: keys[0]!.key,
    async close() {
      await controller.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
