/**
 * @module
 * Real validation tools (shellcheck, cloud-init, python3) for host bootstrap tests. Locally a missing tool skips
 * its tests with a message; in CI (`CI` set, where .ci/run installs them) the tests run and fail instead.
 */
import { spawnSync } from 'node:child_process';

export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Whether to run tests needing `tool`: always in CI (so a missing tool fails them), else only when installed. */
export function runWithTool(tool: string): boolean {
  if (hasTool(tool)) return true;
  if (process.env.CI) return true;
  console.warn(
    `SKIPPED host bootstrap checks needing ${tool}: not installed (apt-get install -y ${tool === 'python3' ? 'python3' : tool}). ` +
      'In CI these tests fail instead.',
  );
  return false;
}

/** Fails with a clear message when a required tool is missing (reached only in CI). */
export function requireTool(tool: string): void {
  if (!hasTool(tool))
    throw new Error(`${tool} is required in CI (.ci/run installs it) but is not installed`);
}
