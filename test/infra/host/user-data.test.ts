/**
 * The user data document: valid for cloud-init's own schema, under EC2's 16 KB, every shell script clean for
 * shellcheck, deployment values in plain text, and the compressed files decoding to the sources in the repo.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOST_PATHS } from '../../../infra/host/paths.ts';
import {
  compressedUserDataBytes,
  renderUserData,
  USER_DATA_LIMIT_BYTES,
} from '../../../infra/host/user-data.ts';
import type { ModelDeployment } from '../../../infra/host/types.ts';
import { hostSettings, TWO_BY_TWO } from './fixtures.ts';
import { requireTool, runWithTool } from './tools.ts';

interface Entry {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: string;
}

/** The shell files of infra/host: the library and the scripts that source it. */
const HOST_SHELL_FILES = ['ep-lib.sh', 'ep-boot.sh', 'ep-watchdog.sh', 'ep-calibration-sync.sh'];

const tmp = mkdtempSync(join(tmpdir(), 'ep-user-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function decode(e: Entry): string {
  return e.encoding === 'gz+b64'
    ? gunzipSync(Buffer.from(e.content, 'base64')).toString('utf8')
    : e.content;
}

function files(userData: string): Map<string, string> {
  const doc = parse(userData) as { write_files: Entry[] };
  return new Map(doc.write_files.map((e) => [e.path, decode(e)]));
}

/** Eight single-GPU models: the most a g6.48xlarge holds, the largest user data we render. */
const EIGHT: ModelDeployment[] = Array.from({ length: 8 }, (_, i) => ({
  hfId: `some-organisation/a-fairly-long-model-name-${i}-7b-instruct`,
  servedName: `model-number-${i}`,
  gpus: 1,
  maxModelLen: 4096,
  revision: '0123456789abcdef0123456789abcdef01234567',
}));

const cases = {
  reference: hostSettings(),
  'two by two': hostSettings({ models: TWO_BY_TWO }),
  'eight models': hostSettings({ gpuCount: 8, models: EIGHT }),
};

describe('renderUserData', () => {
  it.each(Object.entries(cases))(
    '%s: is a #cloud-config under 16 KB gzip-compressed, with 1 KB to spare',
    (_, settings) => {
      const ud = renderUserData(settings);
      expect(ud.startsWith('#cloud-config\n')).toBe(true);
      const bytes = compressedUserDataBytes(ud);
      console.log(
        `user data (${settings.models.length} models): ${bytes} bytes gzip of ${USER_DATA_LIMIT_BYTES}`,
      );
      expect(bytes).toBeLessThan(USER_DATA_LIMIT_BYTES - 1024);
    },
  );

  it.runIf(runWithTool('cloud-init')).each(Object.entries(cases))(
    '%s: passes cloud-init schema',
    (name, settings) => {
      requireTool('cloud-init');
      const file = join(tmp, `${name.replace(/ /g, '-')}.yaml`);
      writeFileSync(file, renderUserData(settings));
      const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/Valid cloud-config/);
    },
  );

  it.runIf(runWithTool('shellcheck'))(
    'every shell script it writes passes shellcheck, following the library it sources',
    () => {
      requireTool('shellcheck');
      // Laid out as on a host, so shellcheck -x finds the library beside the scripts that source it.
      const root = mkdtempSync(join(tmp, 'host-'));
      const shells = [...files(renderUserData(hostSettings())).entries()].filter(([, c]) =>
        /^(#!\/(usr\/bin\/env |bin\/)(ba)?sh|# shellcheck shell=(ba)?sh)\n/.test(c),
      );
      expect(shells.map(([p]) => p)).toEqual([
        HOST_PATHS.scriptLibrary,
        HOST_PATHS.bootScript,
        HOST_PATHS.watchdogScript,
        HOST_PATHS.calibrationSyncScript,
      ]);
      for (const [path, content] of shells) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), content);
      }
      for (const [path] of shells) {
        const r = spawnSync('shellcheck', ['-x', '--severity=style', join(root, path)], {
          cwd: tmp,
          encoding: 'utf8',
        });
        expect(r.status, `${path}:\n${r.stdout}${r.stderr}`).toBe(0);
      }
    },
  );

  it.runIf(runWithTool('shellcheck'))('the host scripts in the repository pass shellcheck', () => {
    requireTool('shellcheck');
    for (const name of HOST_SHELL_FILES) {
      const script = new URL(`../../../infra/host/${name}`, import.meta.url).pathname;
      const r = spawnSync('shellcheck', ['-x', '--severity=style', script], {
        cwd: tmp,
        encoding: 'utf8',
      });
      expect(r.status, r.stdout).toBe(0);
    }
  });

  it('keeps every file readable (the whole document is compressed instead, even for eight models)', () => {
    for (const ud of [renderUserData(hostSettings()), renderUserData(cases['eight models'])]) {
      const entries = (parse(ud) as { write_files: Entry[] }).write_files;
      expect(entries.filter((e) => e.encoding)).toEqual([]);
    }
  });

  it('writes the repository files unchanged, with the right modes', () => {
    const doc = parse(renderUserData(hostSettings())) as { write_files: Entry[] };
    const byPath = new Map(doc.write_files.map((e) => [e.path, e]));
    // Scripts systemd or another script runs are executable; the library they source and the Python script
    // run inside a container (as `python3 <file>`) are not.
    const written: Array<[string, string, string]> = [
      [HOST_PATHS.scriptLibrary, 'ep-lib.sh', '0644'],
      [HOST_PATHS.bootScript, 'ep-boot.sh', '0755'],
      [HOST_PATHS.watchdogScript, 'ep-watchdog.sh', '0755'],
      [HOST_PATHS.calibrationSyncScript, 'ep-calibration-sync.sh', '0755'],
      [HOST_PATHS.downloadScript, 'download-models.py', '0644'],
    ];
    for (const [path, name, mode] of written) {
      const e = byPath.get(path) as Entry;
      expect(decode(e), path).toBe(
        readFileSync(new URL(`../../../infra/host/${name}`, import.meta.url), 'utf8'),
      );
      expect(e.permissions, path).toBe(mode);
    }
    for (const e of doc.write_files) expect(e.owner).toBe('root:root');
  });

  it('keeps every deployment value in plain text, so the stack can substitute apply-time values', () => {
    const settings = hostSettings({
      region: '@@REGION@@',
      logGroupName: '@@LOG_GROUP@@',
      bundleS3Uri: 's3://@@BUCKET@@/ep/controller.mjs',
      hostConfigS3Uri: 's3://@@BUCKET@@/ep/host-config.json',
      hfTokenSecretId: '@@HF_SECRET@@',
    });
    const ud = renderUserData(settings);
    for (const p of [
      '@@REGION@@',
      '@@LOG_GROUP@@',
      's3://@@BUCKET@@/ep/controller.mjs',
      '@@HF_SECRET@@',
    ]) {
      expect(ud).toContain(p);
    }
    // Only the settings file carries them: the units read region and log group from it.
    const hostEnv = files(ud).get(HOST_PATHS.hostEnv) as string;
    expect(hostEnv).toContain("EP_REGION='@@REGION@@'");
    expect(hostEnv).toContain("EP_LOG_GROUP='@@LOG_GROUP@@'");
    const unit = files(ud).get('/etc/systemd/system/ep-vllm@.service') as string;
    expect(unit).toContain('EnvironmentFile=/etc/ep/host.env');
    expect(unit).toContain('awslogs-region=${EP_REGION}');
  });

  it('starts ep-boot.service from runcmd without waiting for it', () => {
    const doc = parse(renderUserData(hostSettings())) as { runcmd: string[][] };
    const units = ['ep-boot.service', 'ep-watchdog.service', 'ep-boot-log.service'];
    expect(doc.runcmd).toEqual([
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', ...units],
      ['systemctl', 'start', '--no-block', ...units],
    ]);
    const unit = files(renderUserData(hostSettings())).get(
      '/etc/systemd/system/ep-boot.service',
    ) as string;
    expect(unit).toMatch(/^ExecStart=\/opt\/ep\/bin\/ep-boot\.sh$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
  });

  it('rejects settings that would break the settings file or the layout', () => {
    expect(() => renderUserData(hostSettings({ hfTokenSecretId: "it's" }))).toThrow(
      /EP_HF_TOKEN_SECRET_ID/,
    );
    expect(() => renderUserData(hostSettings({ bundleS3Uri: 'https://example.com/x' }))).toThrow(
      /s3:\/\/bucket\/key/,
    );
    expect(() => renderUserData(hostSettings({ controllerPort: 8002 }))).toThrow(/llama-2-7b/);
    expect(() => renderUserData(hostSettings({ gpuCount: 2 }))).toThrow(
      /need 4 GPUs, but the host has 2/,
    );
  });
});

describe('the host scripts’ defaults', () => {
  it('are the paths of infra/host/paths.ts', () => {
    const library = readFileSync(new URL('../../../infra/host/ep-lib.sh', import.meta.url), 'utf8');
    expect(library).toContain(`EP_HOST_ENV="\${EP_HOST_ENV:-${HOST_PATHS.hostEnv}}"`);
    const script = readFileSync(new URL('../../../infra/host/ep-boot.sh', import.meta.url), 'utf8');
    const defaults: Record<string, string> = {
      EP_ETC_DIR: HOST_PATHS.etcDir,
      EP_BUNDLE_DIR: HOST_PATHS.bundleDir,
      EP_CACHE_LINK: HOST_PATHS.hfCache,
      EP_CALIBRATION_DIR: HOST_PATHS.calibrationDir,
      EP_CALIBRATION_SYNC: HOST_PATHS.calibrationSyncScript,
    };
    for (const [name, path] of Object.entries(defaults))
      expect(script).toContain(`${name}="\${${name}:-${path}}"`);
    const sync = readFileSync(
      new URL('../../../infra/host/ep-calibration-sync.sh', import.meta.url),
      'utf8',
    );
    expect(sync).toContain(
      `EP_CALIBRATION_DIR="\${EP_CALIBRATION_DIR:-${HOST_PATHS.calibrationDir}}"`,
    );
    expect(HOST_PATHS.hfEnv).toBe(`${HOST_PATHS.etcDir}/hf.env`);
    expect(HOST_PATHS.hostConfig).toBe(`${HOST_PATHS.etcDir}/host-config.json`);
  });
});
