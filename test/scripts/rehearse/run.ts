/**
 * @module
 * Runs `npm run rehearse` the way an operator does (a child process, its own output) and splits its result.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface RehearsalRun {
  readonly code: number | null;
  readonly output: string;
  /** The last line: `rehearsal: ok …` or `rehearsal: FAILED at <phase>: …`. */
  readonly last: string;
  /** Rows of the phase table: phase → result. */
  readonly phases: Record<string, string>;
}

export function runRehearsal(args: readonly string[], timeoutMs: number): Promise<RehearsalRun> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'rehearse', '--', ...args], {
      cwd: REPO,
      env: process.env,
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = output.trim().split('\n');
      const phases: Record<string, string> = {};
      for (const l of lines) {
        const m = /^(\S+)\s+\d+\.\d\s+(ok|FAILED)\b/.exec(l);
        if (m) phases[m[1]!] = m[2]!;
      }
      resolve({ code, output, last: lines.at(-1) ?? '', phases });
    });
  });
}
