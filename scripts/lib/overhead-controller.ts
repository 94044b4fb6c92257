/**
 * @module
 * The controller as a child process of the overhead benchmark, so its CPU time can be read on its own
 * (`process.cpuUsage()` here, asked for over IPC) while load and backends run in the parent.
 * Messages in: `{ cmd: 'cpu' }`, `{ cmd: 'close' }`. Out: `{ ready: url }`, `{ cpu: {user, system} }`.
 */
import { parseConfig } from '../../controller/config.ts';
import { startController } from '../../controller/main.ts';
import { ControllerMetrics } from '../../controller/observability/metrics.ts';
import { createLogger } from '../../controller/observability/logger.ts';

interface Message {
  cmd: 'cpu' | 'close';
}

async function run(): Promise<void> {
  const input = JSON.parse(process.env.EP_OVERHEAD_CONFIG ?? '{}') as Record<string, unknown>;
  const withMetrics = process.env.EP_OVERHEAD_METRICS !== '0';
  const config = parseConfig({ ...input, host: '127.0.0.1', port: 0, logLevel: 'silent' });
  const controller = await startController(config, {
    logger: createLogger('silent'),
    ...(withMetrics ? { metrics: new ControllerMetrics() } : {}),
  });
  process.on('message', (msg: Message) => {
    if (msg.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (msg.cmd === 'close') {
      void controller.close().then(() => process.exit(0));
    }
  });
  process.send?.({ ready: controller.url });
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
