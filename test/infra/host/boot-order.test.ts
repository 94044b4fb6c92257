/**
 * Boot ordering on a real systemd: `systemd-analyze verify` over the rendered units together with cloud-init's own
 * unit files, enabled as on an instance (our units wanted by multi-user.target, cloud-init's stages by
 * cloud-init.target). On Ubuntu and Debian cloud-final.service runs after multi-user.target, so a unit wanted by
 * multi-user.target and ordered after cloud-final is an ordering cycle; systemd then drops a job on every boot.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostFiles } from '../../../infra/host/user-data.ts';
import { hostSettings } from './fixtures.ts';
import { requireTool, runWithTool } from './tools.ts';

const SYSTEM_UNITS = ['/lib/systemd/system', '/usr/lib/systemd/system'].find((d) =>
  existsSync(join(d, 'cloud-final.service')),
);
const tmp = mkdtempSync(join(tmpdir(), 'ep-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Lays out the units as an instance has them after cloud-init's runcmd; returns the verify output. */
function verify(name: string, patch: (unit: string, text: string) => string = (_, t) => t): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'multi-user.target.wants'), { recursive: true });
  mkdirSync(join(dir, 'cloud-init.target.wants'), { recursive: true });
  const ours: string[] = [];
  for (const f of hostFiles(hostSettings())) {
    if (!f.path.startsWith('/etc/systemd/system/')) continue;
    const unit = basename(f.path);
    writeFileSync(join(dir, unit), patch(unit, f.content));
    ours.push(unit);
  }
  const systemDir = SYSTEM_UNITS as string;
  for (const f of readdirSync(systemDir).filter((u) => /^cloud-(init|config|final)/.test(u))) {
    copyFileSync(join(systemDir, f), join(dir, f));
  }
  copyFileSync(join(systemDir, 'multi-user.target'), join(dir, 'multi-user.target'));
  // docker.service comes with Docker on the AMI; a stand-in keeps its dependencies resolvable here.
  writeFileSync(
    join(dir, 'docker.service'),
    '[Unit]\nDescription=docker\n[Service]\nExecStart=/bin/true\n',
  );
  // What `systemctl enable` (runcmd) and cloud-init's packaging leave behind.
  for (const u of [
    'ep-boot.service',
    'ep-watchdog.service',
    'ep-boot-log.service',
    'cloud-init.target',
  ]) {
    symlinkSync(`../${u}`, join(dir, 'multi-user.target.wants', u));
  }
  for (const u of ['cloud-init-local', 'cloud-init', 'cloud-config', 'cloud-final']) {
    symlinkSync(`../${u}.service`, join(dir, 'cloud-init.target.wants', `${u}.service`));
  }
  expect(ours).toContain('ep-boot.service');
  const r = spawnSync('systemd-analyze', ['verify', join(dir, 'multi-user.target')], {
    env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
    encoding: 'utf8',
  });
  return `${r.stdout}${r.stderr}`;
}

describe.runIf(runWithTool('systemd-analyze') && runWithTool('cloud-init'))(
  'boot ordering with cloud-init (systemd-analyze verify)',
  () => {
    it('the rendered units start at boot without an ordering cycle', () => {
      requireTool('systemd-analyze');
      requireTool('cloud-init');
      expect(SYSTEM_UNITS, 'cloud-init unit files').toBeDefined();
      const out = verify('rendered');
      expect(out).not.toMatch(/ordering cycle|deleted to break/i);
    });

    it('detects the cycle a boot unit ordered after cloud-final.service would make', () => {
      requireTool('systemd-analyze');
      const out = verify('after-cloud-final', (unit, text) =>
        unit === 'ep-boot.service'
          ? text.replace(/^After=(.*)$/m, 'After=$1 cloud-final.service')
          : text,
      );
      expect(out).toMatch(/Found ordering cycle/);
      expect(out).toMatch(/deleted to break ordering cycle/);
    });
  },
);
