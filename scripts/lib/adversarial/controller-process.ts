/**
 * @module
 * The controller under attack, as a child process of the adversarial benchmark: its memory and file descriptors
 * are its own, so RSS is measured on it alone and a socket flood from the benchmark hits its limits, not ours.
 * Config from `EP_ADVERSARIAL_CONFIG` (JSON). Messages out: `{ ready: url }`; in: `{ cmd: 'close' }`.
 */
import { parseConfig } from '../../../controller/config.ts';
import { startController } from '../../../controller/main.ts';
import { createLogger } from '../../../controller/observability/logger.ts';

async function run(): Promise<void> {
  const input = JSON.parse(process.env.EP_ADVERSARIAL_CONFIG ?? '{}') as Record<string, unknown>;
  const config = parseConfig({ ...input, host: '127.0.0.1', port: 0 });
  const controller = await startController(config, { logger: createLogger(config.logLevel) });
  process.on('message', (msg: { cmd?: string }) => {
    if (msg.cmd === 'close') void controller.close().then(() => process.exit(0));
  });
  process.send?.({ ready: controller.url });
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
