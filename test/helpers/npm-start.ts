import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** `npm start`'s script, run the way a user runs it, with its output collected. */
export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Waits for the printed banner; returns the URL and key it shows. */
  ready(timeoutMs?: number): Promise<{ url: string; key: string }>;
  kill(): void;
}

export function runStart(env: Record<string, string>): StartedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { ...process.env, EP_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => out,
    exited,
    async ready(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      while (!/Press Ctrl-C/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`npm start did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      const key = /API key\s+(ep_\S+)/.exec(out)?.[1];
      if (!url || !key) throw new Error(`npm start printed no URL or key:\n${out}`);
      return { url, key };
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
