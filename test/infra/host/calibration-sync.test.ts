/**
 * ep-calibration-sync.sh, run for real (bash) on simulated hosts that share one stand-in bucket: the boot script
 * puts the deployment's calibration in place before the controller starts (and boots fine without one), the file
 * a controller makes is uploaded once, a newer object (an operator's re-calibration) reaches every host, and two
 * hosts never hand a file back and forth.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST_PATHS } from '../../../infra/host/paths.ts';
import { hostSettings } from './fixtures.ts';
import type { HostSim } from './host-sim.ts';
import { bootOk, sim } from './sim-helpers.ts';

const KEY = 'ep/calibration/calibration.json';
const FILE = `${HOST_PATHS.calibrationDir}/calibration.json`;

const buckets: string[] = [];
afterEach(() => {
  for (const d of buckets.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in bucket directory shared by the hosts given it. */
interface Bucket {
  dir: string;
  object: string;
  put(content: string): void;
  read(): string;
}

/** A fresh bucket, removed after the test. */
function bucket(): Bucket {
  const dir = mkdtempSync(join(tmpdir(), 'ep-s3-'));
  buckets.push(dir);
  const object = join(dir, 'demo-artifacts', KEY);
  return {
    dir,
    object,
    put(content) {
      mkdirSync(dirname(object), { recursive: true });
      writeFileSync(object, content);
    },
    read: () => readFileSync(object, 'utf8'),
  };
}

/** What the controller does when it makes a file: write beside, rename into place. */
function controllerWrites(host: HostSim, content: string): void {
  writeFileSync(`${host.path(FILE)}.partial`, content);
  writeFileSync(host.path(FILE), content);
  rmSync(`${host.path(FILE)}.partial`);
}

function sync(host: HostSim, env: NodeJS.ProcessEnv = {}): string {
  const r = host.run(HOST_PATHS.calibrationSyncScript, env);
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

/** A host that booted with `s3` as its bucket. */
function bootedHost(s3: Bucket): HostSim {
  const host = sim(hostSettings(), { s3Dir: s3.dir });
  bootOk(host);
  return host;
}

/** Two booted hosts on one bucket that both hold `content`, a file host a's controller made and synced. */
function twoHostsSharing(content: string): { s3: Bucket; a: HostSim; b: HostSim } {
  const s3 = bucket();
  const a = bootedHost(s3);
  const b = bootedHost(s3);
  controllerWrites(a, content);
  sync(a);
  sync(b);
  return { s3, a, b };
}

/** S3 transfers since `from` in the host's call log. */
function transfers(host: HostSim, from = 0): string[] {
  return host
    .calls()
    .slice(from)
    .filter((c) => c.cmd === 'aws' && (c.args[1] === 'put-object' || c.args[1] === 'cp'))
    .filter((c) => c.args.some((a) => a.includes('calibration')))
    .map((c) => (c.args[1] === 'put-object' ? 'upload' : 'download'));
}

/** Runs the sync once on each host in turn; returns the S3 transfers it made, host by host. */
function syncRound(...hosts: HostSim[]): string[] {
  return hosts.flatMap((h) => {
    const from = h.calls().length;
    sync(h);
    return transfers(h, from);
  });
}

describe('calibration at boot', () => {
  it('puts the deployment’s calibration in place before the controller starts', () => {
    const s3 = bucket();
    s3.put('{"made":"by an operator"}');
    const host = bootedHost(s3);
    expect(readFileSync(host.path(FILE), 'utf8')).toBe('{"made":"by an operator"}');
    expect(statSync(host.path(FILE)).mode & 0o777).toBe(0o644);
    const calls = host.calls();
    const download = calls.findIndex(
      (c) => c.cmd === 'aws' && c.args[1] === 'cp' && c.args.some((a) => a.endsWith(KEY)),
    );
    const start = calls.findIndex(
      (c) =>
        c.cmd === 'systemctl' && c.args[0] === 'start' && c.args.includes('ep-controller.service'),
    );
    expect(download).toBeGreaterThan(-1);
    expect(download).toBeLessThan(start);
    // The controller container mounts the directory read-write and is told the file's path.
    const run = host
      .calls()
      .find(
        (c) => c.cmd === 'docker' && c.args[0] === 'run' && c.args.includes('ep-controller'),
      )?.args;
    expect(run).toEqual(
      expect.arrayContaining([
        '--volume',
        '/var/lib/ep/calibration:/var/lib/ep/calibration',
        '--env',
        'EP_CALIBRATION_PATH=/var/lib/ep/calibration/calibration.json',
      ]),
    );
  });

  it('boots without one on a deployment’s first boot, and keeps its file when S3 is unreachable later', () => {
    const s3 = bucket();
    const host = sim(hostSettings(), { s3Dir: s3.dir });
    const r = host.boot();
    expect(r.status, r.stderr).toBe(0);
    // Each script names itself in the log they share.
    expect(r.stderr).toMatch(
      /^ep-calibration-sync: no calibration in s3:\/\/demo-artifacts\/ep\/calibration.* yet/m,
    );
    expect(r.stderr).toMatch(/^ep-boot: started ep-vllm@/m);
    expect(statSync(host.path(HOST_PATHS.calibrationDir)).isDirectory()).toBe(true);
    expect(transfers(host)).toEqual([]);

    controllerWrites(host, '{"made":"here"}');
    host.reboot();
    const again = host.boot({ STUB_S3_DOWN: '1' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(
      /^ep-calibration-sync: cannot reach s3:.*keeping the local calibration/m,
    );
    expect(readFileSync(host.path(FILE), 'utf8')).toBe('{"made":"here"}');
  });
});

describe('calibration sync', () => {
  it('uploads the file a controller made once, and the other host takes it instead of making its own', () => {
    const s3 = bucket();
    const a = bootedHost(s3);
    const b = bootedHost(s3);
    controllerWrites(a, '{"made":"by a"}');
    controllerWrites(b, '{"made":"by b"}');

    expect(sync(a)).toMatch(/uploaded this host's calibration/);
    expect(s3.read()).toBe('{"made":"by a"}');
    expect(sync(b)).toMatch(/downloaded/);
    expect(readFileSync(b.path(FILE), 'utf8')).toBe('{"made":"by a"}');

    // Settled: more rounds move nothing either way.
    for (let i = 0; i < 3; i++) expect(syncRound(a, b)).toEqual([]);
    expect(s3.read()).toBe('{"made":"by a"}');
  });

  it('brings an operator’s new file to every host, even over a file made meanwhile, and never back', () => {
    const { s3, a, b } = twoHostsSharing('{"v":1}');

    s3.put('{"v":"operator"}');
    // Host b's controller made a file in the same minute: the bucket wins.
    controllerWrites(b, '{"v":"b"}');
    sync(a);
    sync(b);
    for (const h of [a, b]) expect(readFileSync(h.path(FILE), 'utf8')).toBe('{"v":"operator"}');
    expect(s3.read()).toBe('{"v":"operator"}');

    expect(syncRound(a, b)).toEqual([]);
  });

  it('uploads a file its controller made after refusing the bucket’s (made for other models); the other host then takes it', () => {
    const s3 = bucket();
    s3.put('{"models":"old"}');
    const a = bootedHost(s3);
    const b = bootedHost(s3);
    controllerWrites(a, '{"models":"new"}');
    expect(syncRound(a)).toEqual(['upload']);
    sync(b);
    expect(readFileSync(b.path(FILE), 'utf8')).toBe('{"models":"new"}');
    expect(syncRound(a, b)).toEqual([]);
  });

  it('deletes the local copies when an operator deletes the object, then keeps the first new file made', () => {
    const { s3, a, b } = twoHostsSharing('{"v":1}');
    rmSync(s3.object);
    for (const h of [a, b]) {
      expect(sync(h)).toMatch(/was deleted: removed the local copy/);
      expect(existsSync(h.path(FILE))).toBe(false);
    }
    // Nothing to upload until a controller has made a new file.
    sync(a);
    expect(existsSync(s3.object)).toBe(false);
    controllerWrites(b, '{"v":"b"}');
    controllerWrites(a, '{"v":"a"}');
    sync(b);
    sync(a);
    expect(s3.read()).toBe('{"v":"b"}');
    expect(readFileSync(a.path(FILE), 'utf8')).toBe('{"v":"b"}');
  });

  it('keeps the local file and succeeds when S3 cannot be reached, and uploads once it can', () => {
    const s3 = bucket();
    const a = bootedHost(s3);
    controllerWrites(a, '{"made":"here"}');
    expect(sync(a, { STUB_S3_DOWN: '1' })).toMatch(/cannot reach/);
    expect(readFileSync(a.path(FILE), 'utf8')).toBe('{"made":"here"}');
    sync(a);
    expect(s3.read()).toBe('{"made":"here"}');
  });

  it('does nothing with S3 on a host without a calibration location', () => {
    const { calibrationS3Uri, ...settings } = hostSettings();
    expect(calibrationS3Uri).toBeDefined();
    const host = sim(settings);
    bootOk(host);
    controllerWrites(host, '{}');
    sync(host);
    expect(host.calls().filter((c) => c.cmd === 'aws' && c.args[0] === 's3api')).toEqual([]);
    expect(statSync(host.path(HOST_PATHS.calibrationDir)).isDirectory()).toBe(true);
  });
});
