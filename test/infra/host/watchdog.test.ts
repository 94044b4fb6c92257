/**
 * ep-watchdog.sh, run for real (bash) with stub commands: it publishes the host's vLLM work, protects a working
 * host from scale-in, and marks the host unhealthy only after sustained failure once booted, and never when its
 * models could not be downloaded (a replacement would fail the same way).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hostFiles } from '../../../infra/host/user-data.ts';
import { hostSettings } from './fixtures.ts';

const SCRIPT = fileURLToPath(new URL('../../../infra/host/ep-watchdog.sh', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Scenario {
  /** `vllm:num_requests_running` per backend, per round (the same every round when one array). */
  readonly running?: number;
  readonly healthz?: boolean;
  readonly readyz?: boolean;
  readonly booted?: boolean;
  /** Markers of models whose download failed. */
  readonly failedMarkers?: string[];
  readonly rounds: number;
  readonly minutes?: number;
  /** The calibration sync fails. */
  readonly syncFails?: boolean;
}

/**
 * Runs the watchdog for a few rounds of 60 "seconds" (sleep is a no-op); returns the aws calls it made and how
 * often it ran the calibration sync.
 */
function watch(sc: Scenario): { aws: string[][]; stderr: string; syncs: number } {
  const root = mkdtempSync(join(tmpdir(), 'ep-watchdog-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const env = hostFiles(hostSettings({ watchdogMinutes: sc.minutes ?? 3 })).find(
    (f) => f.path === '/etc/ep/host.env',
  )!.content;
  writeFileSync(join(root, 'host.env'), env);
  const cache = join(root, 'cache');
  mkdirSync(join(cache, 'ep-failed'), { recursive: true });
  for (const m of sc.failedMarkers ?? []) writeFileSync(join(cache, 'ep-failed', m), 'refused\n');
  const log = join(root, 'aws.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    'curl',
    `url="\${@: -1}"
case "$url" in
  */latest/api/token) echo TOKEN ;;
  */meta-data/instance-id) echo i-0abc ;;
  */metrics) printf '# HELP x\\nvllm:num_requests_running{model_name="m"} ${sc.running ?? 0}.0\\nvllm:num_requests_waiting{model_name="m"} 0.0\\n' ;;
  */healthz) ${sc.healthz === false ? 'exit 7' : 'echo ok'} ;;
  */readyz) ${sc.readyz === false ? 'exit 22' : 'echo ok'} ;;
  *) exit 22 ;;
esac`,
  );
  stub('aws', `printf '%s\\n' "$*" >> '${log}'`);
  stub('systemctl', sc.booted === false ? 'exit 3' : 'exit 0');
  stub('sleep', 'exit 0');
  const syncLog = join(root, 'sync.log');
  stub('ep-calibration-sync.sh', `echo sync >> '${syncLog}'${sc.syncFails ? '\nexit 1' : ''}`);
  const r = spawnSync('bash', [SCRIPT], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      EP_HOST_ENV: join(root, 'host.env'),
      EP_CACHE_LINK: cache,
      EP_WATCHDOG_ROUNDS: String(sc.rounds),
      EP_CALIBRATION_SYNC: join(bin, 'ep-calibration-sync.sh'),
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    /* no aws call */
  }
  let syncs = 0;
  try {
    syncs = readFileSync(syncLog, 'utf8').trim().split('\n').length;
  } catch {
    /* never ran */
  }
  return {
    syncs,
    aws: text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')),
    stderr: r.stderr,
  };
}

const health = (calls: string[][]) => calls.filter((c) => c[1] === 'set-instance-health');
const protection = (calls: string[][]) =>
  calls.filter((c) => c[1] === 'set-instance-protection').map((c) => c.at(-1));

describe('ep-watchdog.sh', () => {
  it('syncs the calibration every round once the host has booted, and carries on when the sync fails', () => {
    expect(watch({ rounds: 3 }).syncs).toBe(3);
    expect(watch({ rounds: 3, booted: false }).syncs).toBe(0);
    const failing = watch({ rounds: 2, syncFails: true, running: 1 });
    expect(failing.syncs).toBe(2);
    expect(failing.stderr).toMatch(/calibration sync failed/);
    expect(failing.aws.filter((c) => c[1] === 'put-metric-data')).toHaveLength(2);
  });

  it('publishes the backends’ running and waiting requests for target tracking, every round', () => {
    const { aws } = watch({ running: 3, rounds: 2 });
    const metrics = aws.filter((c) => c[1] === 'put-metric-data');
    expect(metrics).toHaveLength(2);
    // Four backends with 3 running each.
    expect(metrics[0]).toEqual(
      expect.arrayContaining([
        'BackendRequests',
        '12',
        'EnsembledPerplexity',
        'AutoScalingGroupName=demo-hosts',
      ]),
    );
  });

  it('protects a working host from scale-in once, and lifts it after the idle minutes', () => {
    expect(protection(watch({ running: 1, rounds: 3 }).aws)).toEqual(['--protected-from-scale-in']);
    expect(protection(watch({ running: 0, rounds: 8 }).aws)).toEqual([]);
  });

  it('marks a booted host unhealthy in its own group only after the configured minutes of failure', () => {
    const short = watch({ healthz: false, rounds: 2, minutes: 3 });
    expect(health(short.aws)).toEqual([]);
    const sustained = watch({ healthz: false, rounds: 3, minutes: 3 });
    expect(health(sustained.aws)).toEqual([
      expect.arrayContaining(['--instance-id', 'i-0abc', '--health-status', 'Unhealthy']),
    ]);
    expect(sustained.stderr).toMatch(
      /^ep-watchdog: failing for 3 minutes: marking i-0abc Unhealthy/m,
    );
  });

  it('leaves a host alone while it boots, and when too few models could be downloaded', () => {
    expect(health(watch({ healthz: false, booted: false, rounds: 5 }).aws)).toEqual([]);
    const refused = watch({
      readyz: false,
      rounds: 5,
      failedMarkers: [
        'meta-llama--Llama-2-7b-hf@default',
        'mistralai--Mistral-7B-v0.1@default',
        'microsoft--phi-2@default',
      ],
    });
    expect(health(refused.aws)).toEqual([]);
    // Enough models downloaded but not ready for the whole period: replaced.
    expect(health(watch({ readyz: false, rounds: 3 }).aws)).toHaveLength(1);
  });
});
