/**
 * @module
 * The controller under attack, as a child process of the adversarial benchmark: its memory and file descriptors
 * are its own, so RSS is measured on it alone and a socket flood from the benchmark hits its limits, not ours.
 * Config from `EP_ADVERSARIAL_CONFIG` (JSON). Messages out: `{ ready: url }`, `{ collected: true }`; in:
 * `{ cmd: 'close' }`, `{ cmd: 'gc' }`.
 */
import { parseConfig } from '../../../controller/config.ts';
import { startController } from '../../../controller/main.ts';
import { createLogger } from '../../../controller/observability/logger.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';

async function run(): Promise<void> {
  const input = JSON.parse(process.env.EP_ADVERSARIAL_CONFIG ?? '{}') as Record<string, unknown>;
  const config = parseConfig({ ...input, host: '127.0.0.1', port: 0 });
  const controller = await startController(config, {
    logger: createLogger(config.logLevel),
    // For the V8 heap figure (`GET /metrics`): RSS alone does not show memory handed back to the heap.
    metrics: new ControllerMetrics(),
  });
  process.on('message', (msg: { cmd?: string }) => {
    if (msg.cmd === 'close') void controller.close().then(() => process.exit(0));
    // A full collection on request (the child runs with --expose-gc), so "freed" can be told from "not yet
    // collected".
    if (msg.cmd === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ collected: true });
    }
  });
  process.send?.({ ready: controller.url });
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
