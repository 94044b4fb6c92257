/**
 * Vitest global setup: the run gets a temp directory of its own (TMPDIR, which `os.tmpdir()` and child processes
 * honour), and fails if a test left folders of this project (`ep-*`) or of cdktf's Testing app
 * (`cdktf.outdir.*`) in it. Being private to the run, it also keeps parallel runs from seeing each other's files.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LEFTOVER = /^(ep-|cdktf\.outdir\.)/;

export default function setup(): () => void {
  const runTmp = mkdtempSync(join(tmpdir(), 'vitest-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runTmp;
  return () => {
    const left = readdirSync(runTmp).filter((name) => LEFTOVER.test(name));
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(runTmp, { recursive: true, force: true });
    if (left.length > 0) {
      // Vitest reports an error thrown here but keeps its exit code; set it so the run fails.
      process.exitCode = 1;
      throw new Error(`tests left temporary folders behind: ${left.sort().join(', ')}`);
    }
  };
}
