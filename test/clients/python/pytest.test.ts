/**
 * Runs the Python client's pytest suite (clients/python/tests) from `npm test`, so the one test command covers
 * both languages. Under CI a missing Python or pytest is a failure, never a skip.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Imports the suite needs: pytest to run, venv/setuptools/wheel for the offline `pip install` test. */
const FULL =
  'import sys, pytest, venv, ensurepip, setuptools, wheel; assert sys.version_info >= (3, 9)';
const MINIMAL = 'import sys, pytest; assert sys.version_info >= (3, 9)';

function works(python: string, code: string): boolean {
  return spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** The first Python that has everything, else the first that can at least run pytest. */
function findPython(): string | undefined {
  const candidates = [process.env.EP_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (p): p is string => Boolean(p),
  );
  return (
    candidates.find((p) => works(p, FULL)) ?? candidates.find((p) => works(p, MINIMAL)) ?? undefined
  );
}

const python = findPython();
if (!python && process.env.CI) {
  describe('Python client', () => {
    it('needs Python >= 3.9 with pytest (Debian: python3-venv python3-pip python3-setuptools python3-wheel python3-pytest)', () => {
      expect.fail('no python3 with pytest found (set EP_PYTHON to choose one)');
    });
  });
}

describe.runIf(python !== undefined)('Python client (pytest)', () => {
  it('passes its suite against the local stack', () => {
    const run = spawnSync(
      python as string,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'clients/python'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', EP_NODE: process.execPath },
        timeout: 540_000,
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    console.info(`pytest (${python}): ${output.trim().split('\n').pop()}`);
    expect(run.status, output).toBe(0);
  }, 600_000);
});
