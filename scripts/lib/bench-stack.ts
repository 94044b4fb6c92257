/**
 * @module
 * A complete local stack for benchmarks: the four local-lm models (optionally emulating a GPU's timing, one
 * profile row per model as on the reference host) behind a controller on loopback, with logs off.
 */
import { parseConfig } from '../../controller/config.ts';
import type { ControllerConfigInput } from '../../controller/config.ts';
import { startController } from '../../controller/main.ts';
import { createLogger } from '../../controller/observability/logger.ts';
import { startLocalFleet } from '../../images/local-lm/index.ts';
import { startProcessFleet } from './process-fleet.ts';

export interface LocalStackOptions {
  /**
   * local-lm timing profile: a short name such as `l4-goal-bf16` gives each model its own row (Mistral, Llama,
   * phi-2). @default - none: the models answer as fast as the CPU allows
   */
  readonly timing?: string;
  /** Local models to serve. @default - all four default models */
  readonly names?: readonly string[];
  /**
   * Each model in its own process (one event loop per emulated GPU clock). @default - true with `timing`,
   * false without (CPU models share the machine either way)
   */
  readonly processes?: boolean;
  /** Controller settings beyond the models (limits, scheduler). @default - the defaults */
  readonly controller?: Omit<ControllerConfigInput, 'models' | 'host' | 'port'>;
}

export interface LocalStack {
  readonly url: string;
  readonly models: string[];
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const fleetOptions = {
    ...(options.timing ? { timing: options.timing } : {}),
    ...(options.names ? { names: options.names } : {}),
  };
  const fleet: { servers: { servedName: string; url: string }[]; close(): Promise<void> } =
    (options.processes ?? options.timing !== undefined)
      ? await startProcessFleet(fleetOptions)
      : await startLocalFleet({ host: '127.0.0.1', ...fleetOptions });
  try {
    const config = parseConfig({
      ...options.controller,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    });
    const controller = await startController(config, { logger: createLogger('silent') });
    return {
      url: controller.url,
      models: fleet.servers.map((s) => s.servedName),
      close: async () => {
        await controller.close();
        await fleet.close();
      },
    };
  } catch (err) {
    await fleet.close();
    throw err;
  }
}
