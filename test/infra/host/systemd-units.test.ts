/**
 * The units as systemd itself reads them: `systemd-analyze verify` in a temp root holding the files cloud-init
 * writes, a stand-in docker.service and /usr/bin/docker. Any unknown key or unparsable value is a failure.
 * systemd-analyze comes with systemd, which .ci/run installs: without it these checks are skipped locally (with a
 * message) and fail in CI.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostFiles } from '../../../infra/host/user-data.ts';
import type { HostSettings } from '../../../infra/host/types.ts';
import { hostSettings, TWO_BY_TWO } from './fixtures.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { requireTool, runWithTool } from './tools.ts';

/** systemd's own units, which ours order themselves against. */
function systemUnits(): string {
  const dir = ['/lib/systemd/system', '/usr/lib/systemd/system'].find((d) => existsSync(d));
  if (!dir) throw new Error("systemd's unit folder is missing: install systemd (.ci/run does)");
  return dir;
}

/** A root directory with the host's files, systemd's own units and stand-ins for docker. */
function hostRoot(settings: HostSettings): string {
  requireTool('systemd-analyze');
  const root = tempDir('ep-systemd-');
  for (const f of hostFiles(settings)) {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    chmodSync(path, parseInt(f.permissions, 8));
  }
  // systemd's own units (targets our units order against), without their .wants/ link farms.
  cpSync(systemUnits(), join(root, 'lib/systemd/system'), {
    recursive: true,
    filter: (src) => !/\.(wants|requires)$/.test(src),
  });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/docker'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(
    join(root, 'etc/systemd/system/docker.service'),
    '[Service]\nExecStart=/usr/bin/docker\n',
  );
  return root;
}

describe.runIf(runWithTool('systemd-analyze'))('systemd-analyze verify', () => {
  it.each([
    ['the reference models', hostSettings(), ['vicuna-7b', 'llama-2-7b', 'phi-2', 'mistral-7b']],
    ['two models on two GPUs', hostSettings({ models: TWO_BY_TWO }), ['mistral-7b', 'llama-2-7b']],
  ])('accepts every unit of %s without a warning', (_, settings, instances) => {
    const root = hostRoot(settings);
    const units = [
      'ep-boot.service',
      'ep-model-download.service',
      'ep-controller.service',
      ...instances.map((i) => `ep-vllm@${i}.service`),
    ].map((u) => `/etc/systemd/system/${u}`);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, ...units], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('reports a misspelt key (the check is real)', () => {
    const root = hostRoot(hostSettings());
    writeFileSync(
      join(root, 'etc/systemd/system/ep-boot.service'),
      '[Service]\nRestar=always\nExecStart=/usr/bin/docker\n',
    );
    const r = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', `--root=${root}`, '/etc/systemd/system/ep-boot.service'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toMatch(/Unknown key 'Restar'/);
  });
});
