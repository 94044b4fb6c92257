/**
 * `npm run deploy|destroy`: without Terraform the wrapper names the missing tool and how to install it, instead of
 * the cdktf CLI's `execvp(3) failed`.
 */
import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missingTool } from '../../scripts/cdktf-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/cdktf-run.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

describe('cdktf-run (npm run deploy/destroy)', () => {
  it('names Terraform when it is missing, and nothing when it is there', async () => {
    expect(await missingTool({}, async () => '1.11.4')).toBeNull();
    expect(await missingTool({}, async () => null)).toMatch(
      /Terraform is not installed: `terraform` is not on PATH.*Install Terraform >= 1\.10/,
    );
    expect(await missingTool({ TERRAFORM_BINARY_NAME: 'tofu' }, async () => null)).toMatch(
      /`tofu` is not on PATH/,
    );
  });

  it('exits 1 with that message before starting cdktf when terraform is not on PATH', () => {
    // A PATH with node only: no terraform anywhere.
    const bin = tempDir('ep-path-');
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = spawnSync(TSX, [SCRIPT, 'deploy', '--auto-approve'], {
      env: { PATH: `${bin}:${dirname(TSX)}`, HOME: process.env.HOME ?? '/tmp' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Terraform is not installed/);
    expect(r.stderr).not.toMatch(/execvp/);
  });
});
