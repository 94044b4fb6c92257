/**
 * @module
 * A controller to attack: started as its own process with a file key store holding one key, in front of the
 * benchmark's local backends. Also the probes every scenario uses: its RSS and open descriptors from /proc.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../../../controller/auth/key-format.ts';

export interface TargetOptions {
  /** Controller settings over the defaults (`limits`, `server`, `timeouts`, …). @default - none */
  readonly config?: Record<string, unknown>;
  /** Backends of the scenario's own (e.g. with fault controls) instead of the run's. @default - the run's */
  readonly models?: ModelEntries;
  /** Valid keys in the store, for scenarios with several clients. @default 1 */
  readonly keys?: number;
}

export interface AdversarialTarget {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** A valid API key. */
  readonly key: string;
  /** Every valid key (`key` first), `TargetOptions.keys` of them. */
  readonly keys: readonly string[];
  /** Resident set of the controller process, MiB. */
  rssMiB(): Promise<number>;
  /** Runs a full garbage collection in the controller. */
  collectGarbage(): Promise<void>;
  /** V8 heap in use in the controller (from its `/metrics`), MiB. */
  heapMiB(): Promise<number>;
  /** File descriptors the controller process has open. */
  openFds(): Promise<number>;
  close(): Promise<void>;
}

/** The benchmark's backends, as `models` entries of the controller config. */
export type ModelEntries = readonly { name: string; backends: string[] }[];

export async function startTarget(
  models: ModelEntries,
  options: TargetOptions = {},
): Promise<AdversarialTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-adversarial-'));
  const generated = Array.from({ length: Math.max(1, options.keys ?? 1) }, () => generateKey());
  const store = join(dir, 'keys.json');
  await writeFile(
    store,
    JSON.stringify({
      version: 1,
      keys: generated.map(({ id, hash }, i) => ({
        id,
        name: i === 0 ? 'bench' : `bench-${i}`,
        hash,
        createdAt: new Date().toISOString(),
      })),
    }),
  );
  const key = (generated[0] as { key: string }).key;
  const config = {
    logLevel: 'warn',
    ...options.config,
    models: options.models ?? models,
    auth: {
      requestsPerMinute: 1_000_000,
      ...((options.config?.auth as object | undefined) ?? {}),
      store: `file:${store}`,
    },
  };
  const entry = fileURLToPath(new URL('./controller-process.ts', import.meta.url));
  const child: ChildProcess = fork(entry, [], {
    execArgv: ['--expose-gc', '--import', import.meta.resolve('tsx')],
    env: { ...process.env, EP_ADVERSARIAL_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`controller child exited with ${code}`)));
    child.on('message', (m: { ready?: string }) => m.ready && resolve(m.ready));
  });
  child.removeAllListeners('exit');
  const pid = child.pid as number;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    key,
    keys: generated.map((g) => g.key),
    async rssMiB() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 102.4) / 10;
    },
    collectGarbage() {
      return new Promise<void>((resolve) => {
        const onMessage = (m: { collected?: boolean }) => {
          if (!m.collected) return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ cmd: 'gc' });
      });
    },
    async heapMiB() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
      return Math.round((bytes / 2 ** 20) * 10) / 10;
    },
    async openFds() {
      return (await readdir(`/proc/${pid}/fd`)).length;
    },
    async close() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ cmd: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Samples `probe` every `ms` until `stop()` is called; returns the samples' maximum. */
export function sampleMax(probe: () => Promise<number>, ms = 50) {
  let max = -Infinity;
  let running = true;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await probe().catch(() => -Infinity));
      await new Promise((r) => setTimeout(r, ms));
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await loop;
      return max;
    },
  };
}
