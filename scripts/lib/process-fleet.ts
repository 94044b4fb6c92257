/**
 * @module
 * The local models as separate processes, one per model like one vLLM container per GPU: each stand-in's
 * emulated GPU clock then runs on its own event loop, and no model's tokenizer or n-gram scoring can delay
 * another's clock (in one process, four stand-ins share one loop and stall each other's timers).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_NAMES } from '../../images/local-lm/index.ts';
import { STAND_IN_FAMILY } from '../../images/local-lm/fleet.ts';
import { timingForFamily } from '../../images/local-lm/server/timing-profiles.ts';

export interface ProcessFleetOptions {
  /** @default DEFAULT_MODEL_NAMES */
  readonly names?: readonly string[];
  /** Timing profile short name (each model gets its family's row). @default - none */
  readonly timing?: string;
}

export interface FleetServer {
  readonly servedName: string;
  readonly url: string;
}

export interface ProcessFleet {
  readonly servers: FleetServer[];
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../../images/local-lm/main.ts', import.meta.url));

function startOne(
  name: string,
  timing: string | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--import', import.meta.resolve('tsx'), ENTRY, '--model', name, '--port', '0'];
  if (timing)
    args.push('--timing', timingForFamily(timing, STAND_IN_FAMILY[name] ?? 'mistral').name);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const m = /serving \S+ at (http:\/\/\S+)/.exec(line);
      if (m) resolve({ child, url: m[1] as string });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`local-lm ${name} exited with ${code}`)));
  });
}

export async function startProcessFleet(options: ProcessFleetOptions = {}): Promise<ProcessFleet> {
  const names = options.names ?? DEFAULT_MODEL_NAMES;
  const started = await Promise.allSettled(names.map((n) => startOne(n, options.timing)));
  const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.child] : []));
  const close = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await close();
    throw (failed as PromiseRejectedResult).reason;
  }
  return {
    servers: started.map((s, i) => ({
      servedName: names[i] as string,
      url: (s as PromiseFulfilledResult<{ url: string }>).value.url,
    })),
    close,
  };
}
