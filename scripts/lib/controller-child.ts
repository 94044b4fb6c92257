/**
 * @module
 * The parent's handle on a controller child process (`overhead-controller.ts`): start it with a config, ask it
 * for its CPU time, memory (optionally after a full GC) and event-loop delay over IPC, and close it.
 * The child runs as production runs the controller: one esbuild bundle on plain `node` (no TypeScript loader,
 * whose hooks thread and per-worker copies would add their own CPU and memory to every figure).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildControllerBundle } from '../build-bundle.ts';
import { CONTROLLER_NODE_FLAGS } from '../../controller/node-flags.ts';

/**
 * Bundles the child entry into a temporary directory (removed by `close`). The process starts from a one-line
 * launcher, so that the bundled `controller/main.ts`, which runs itself when it is the process's entry file,
 * stays a library.
 */
async function childBundle(): Promise<{ dir: string; launcher: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ep-bench-controller-'));
  await buildControllerBundle({
    entry: fileURLToPath(new URL('./overhead-controller.ts', import.meta.url)),
    outFile: join(dir, 'controller.mjs'),
  });
  const launcher = join(dir, 'launch.mjs');
  writeFileSync(launcher, "import './controller.mjs';\n");
  return { dir, launcher };
}

export interface ChildMemory {
  /** Bytes. */
  rss: number;
  heapUsed: number;
  /** V8 heap reserved (used + free pages it keeps). */
  heapTotal: number;
  /** Memory outside the V8 heap held by JS objects (Buffers, typed arrays). */
  external: number;
  arrayBuffers: number;
}

export interface LoopDelay {
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
}

export interface ControllerChildOptions {
  /** Prometheus metrics on, as in production. @default true */
  readonly metrics?: boolean;
  /** Request log level (written to the child's stdout, which is discarded). @default 'silent' */
  readonly logLevel?: 'silent' | 'info';
  /** Extra Node flags of the child (e.g. `--max-semi-space-size`). @default [] */
  readonly nodeFlags?: readonly string[];
}

export class ControllerChild {
  readonly url: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #dir: string;

  private constructor(child: ChildProcess, url: string, dir: string) {
    this.#child = child;
    this.#dir = dir;
    this.url = url;
    this.pid = child.pid as number;
  }

  static async start(
    config: unknown,
    options: ControllerChildOptions = {},
  ): Promise<ControllerChild> {
    const { dir, launcher } = await childBundle();
    const child = fork(launcher, [], {
      // EP_OVERHEAD_PROFILE=DIR writes a V8 CPU profile of the controller there.
      execArgv: [
        '--expose-gc',
        ...CONTROLLER_NODE_FLAGS,
        ...(options.nodeFlags ?? []),
        ...(process.env.EP_OVERHEAD_PROFILE
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.EP_OVERHEAD_PROFILE}`]
          : []),
      ],
      env: {
        ...process.env,
        EP_OVERHEAD_CONFIG: JSON.stringify(config),
        EP_OVERHEAD_METRICS: options.metrics === false ? '0' : '1',
        EP_OVERHEAD_LOG: options.logLevel ?? 'silent',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`controller child exited with ${code}`)));
      child.on('message', (m: { ready?: string }) => m.ready && resolve(m.ready));
    }).catch((err: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
    child.removeAllListeners('exit');
    return new ControllerChild(child, url, dir);
  }

  #ask<T>(cmd: string, field: string): Promise<T> {
    return new Promise((resolve) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!(field in m)) return;
        this.#child.off('message', onMessage);
        resolve(m[field] as T);
      };
      this.#child.on('message', onMessage);
      this.#child.send({ cmd });
    });
  }

  /** CPU time (user + system) the controller process has used so far, in ms. */
  async cpuMs(): Promise<number> {
    const cpu = await this.#ask<NodeJS.CpuUsage>('cpu', 'cpu');
    return (cpu.user + cpu.system) / 1000;
  }

  memory(): Promise<ChildMemory> {
    return this.#ask('mem', 'mem');
  }

  /** Memory after a full garbage collection (what is really kept). */
  memoryAfterGc(): Promise<ChildMemory> {
    return this.#ask('gc', 'gc');
  }

  async resetLoopDelay(): Promise<void> {
    await this.#ask('eld-reset', 'eld');
  }

  /** Event-loop delay since the last reset. */
  loopDelay(): Promise<LoopDelay> {
    return this.#ask('eld', 'eld');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        rmSync(this.#dir, { recursive: true, force: true });
        resolve();
      });
      this.#child.send({ cmd: 'close' });
    });
  }
}
