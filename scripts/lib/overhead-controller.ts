/**
 * @module
 * The controller as a child process of the benchmarks, so its CPU time, memory and event-loop delay can be read
 * on their own while load and backends run in the parent. Run it with `--expose-gc` to get `heapAfterGc`.
 * Messages in: `{ cmd: 'cpu' | 'mem' | 'gc' | 'eld-reset' | 'eld' | 'close' }`.
 * Out: `{ ready: url }`, `{ cpu }`, `{ mem: {rss, heapUsed} }`, `{ gc: {rss, heapUsed} }` (after a full GC),
 * `{ eld: {p50, p99, max} }` (event-loop delay in ms since the last reset).
 * `EP_OVERHEAD_LOG=info` turns the request log on (to the child's stdout), as in production.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LevelWithSilent } from 'pino';
import { parseConfig } from '../../controller/config.ts';
import { startController } from '../../controller/main.ts';
import { ControllerMetrics } from '../../controller/observability/metrics.ts';
import { createLogger } from '../../controller/observability/logger.ts';

interface Message {
  cmd: 'cpu' | 'mem' | 'gc' | 'eld-reset' | 'eld' | 'close';
}

const memory = () => {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
};

async function run(): Promise<void> {
  const input = JSON.parse(process.env.EP_OVERHEAD_CONFIG ?? '{}') as Record<string, unknown>;
  const withMetrics = process.env.EP_OVERHEAD_METRICS !== '0';
  const level = (process.env.EP_OVERHEAD_LOG ?? 'silent') as LevelWithSilent;
  const config = parseConfig({ ...input, host: '127.0.0.1', port: 0, logLevel: level });
  const controller = await startController(config, {
    logger: createLogger(level),
    ...(withMetrics ? { metrics: new ControllerMetrics() } : {}),
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
  process.on('message', (msg: Message) => {
    if (msg.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (msg.cmd === 'mem') process.send?.({ mem: memory() });
    if (msg.cmd === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      process.send?.({ gc: gc ? memory() : { rss: NaN, heapUsed: NaN } });
    }
    if (msg.cmd === 'eld-reset') {
      delay.reset();
      process.send?.({ eld: { p50: 0, p99: 0, max: 0 } });
    }
    if (msg.cmd === 'eld') {
      process.send?.({
        eld: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      });
    }
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
