/**
 * @module
 * A simulated host for running ep-boot.sh in a test: the files cloud-init would write, laid out under a temp
 * root; stub commands on PATH (stubs/host-stub.mjs); and a tiny "systemd" that runs the ExecStartPre/ExecStart
 * lines of the units the boot script started, through an in-process docker that refuses duplicate names.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostFiles } from '../../../infra/host/user-data.ts';
import type { HostSettings } from '../../../infra/host/types.ts';
import { execArgv, parseEnvFile, parseUnit, unitValues, type UnitFile } from './systemd-words.ts';

const STUB = fileURLToPath(new URL('./stubs/host-stub.mjs', import.meta.url));
const COMMANDS = [
  'curl',
  'nvidia-smi',
  'lsblk',
  'mountpoint',
  'findmnt',
  'mount',
  'blkid',
  'mkfs.ext4',
  'mdadm',
  'aws',
  'systemctl',
  'docker',
];

export interface Call {
  cmd: string;
  args: string[];
  oneshot: boolean;
}

export interface SimOptions {
  /** `lsblk -dnpo NAME,MODEL` lines of instance-store disks. @default one disk */
  disks?: string[];
  /** Simulate a Deep Learning AMI that has already mounted its NVMe at /opt/dlami/nvme. */
  dlamiMounted?: boolean;
  /** Value of the token secret; undefined: the secret has no value yet. @default 'hf_testtoken' */
  hfToken?: string | undefined;
  /** Directory standing for S3 (`<bucket>/<key>` files); hosts given the same one share a bucket. @default per host */
  s3Dir?: string;
}

export class HostSim {
  readonly root = mkdtempSync(join(tmpdir(), 'ep-host-'));
  readonly bin = join(this.root, '.stub-bin');
  readonly state = join(this.root, '.stub-state');
  private played = 0;
  private readonly env: NodeJS.ProcessEnv;

  constructor(settings: HostSettings, opts: SimOptions = {}) {
    for (const f of hostFiles(settings)) {
      const path = this.path(f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
      chmodSync(path, parseInt(f.permissions, 8));
    }
    mkdirSync(this.bin);
    mkdirSync(this.state);
    for (const c of COMMANDS) {
      writeFileSync(join(this.bin, c), `#!/bin/sh\nexec node '${STUB}' -- ${c} "$@"\n`, {
        mode: 0o755,
      });
    }
    const dlami = this.path('/opt/dlami/nvme');
    if (opts.dlamiMounted) {
      mkdirSync(dlami, { recursive: true });
      writeFileSync(
        join(this.state, 'state.json'),
        JSON.stringify({
          mounts: { '/dev/md0': dlami },
          formatted: ['/dev/md0'],
          arrays: [],
          active: [],
          enabled: [],
          containers: {},
        }),
      );
    }
    const disks = opts.disks ?? ['/dev/nvme1n1 Amazon EC2 NVMe Instance Storage'];
    this.env = {
      PATH: `${this.bin}:${process.env.PATH}`,
      STUB_STATE: this.state,
      STUB_DISKS: disks.join('\n'),
      ...('hfToken' in opts
        ? opts.hfToken
          ? { STUB_HF_TOKEN: opts.hfToken }
          : {}
        : { STUB_HF_TOKEN: 'hf_testtoken' }),
      EP_HOST_ENV: this.path('/etc/ep/host.env'),
      EP_ETC_DIR: this.path('/etc/ep'),
      EP_BUNDLE_DIR: this.path('/opt/ep/controller'),
      EP_CACHE_LINK: this.path('/var/lib/ep/hf-cache'),
      EP_VLLM_CACHE_LINK: this.path('/var/lib/ep/vllm-cache'),
      EP_CALIBRATION_DIR: this.path('/var/lib/ep/calibration'),
      EP_CALIBRATION_SYNC: this.path('/opt/ep/bin/ep-calibration-sync.sh'),
      // The test's own user stands in for the controller container's (uid 1000 needs root to chown to).
      EP_CONTROLLER_OWNER: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      ...(opts.s3Dir ? { STUB_S3_DIR: opts.s3Dir } : {}),
      EP_TOKEN_ATTEMPTS: '2',
      EP_TOKEN_RETRY_SLEEP: '0',
      EP_DLAMI_NVME: dlami,
      EP_NVME_MOUNT: this.path('/mnt/ep-nvme'),
      EP_ROOT_STORAGE: this.path('/var/lib/ep/storage'),
      EP_MD_DEVICE: this.path('/dev/md/ep-cache'),
      EP_RETRY_SLEEP: '0',
    };
  }

  /** A host path inside the temp root. */
  path(hostPath: string): string {
    return join(this.root, hostPath);
  }

  /** Runs the boot script as ep-boot.service would. */
  boot(extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
    return spawnSync('bash', [this.path('/opt/ep/bin/ep-boot.sh')], {
      env: { ...this.env, ...extraEnv },
      encoding: 'utf8',
    });
  }

  /** Runs one of the host's scripts (a host path) with the simulation's environment. */
  run(script: string, extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
    return spawnSync('bash', [this.path(script)], {
      env: { ...this.env, ...extraEnv },
      encoding: 'utf8',
    });
  }

  calls(): Call[] {
    const file = join(this.state, 'calls.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Call);
  }

  starts(): Array<{ unit: string; started: boolean; noBlock: boolean }> {
    const file = join(this.state, 'starts.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  }

  stubState(): {
    mounts: Record<string, string>;
    formatted: string[];
    active: string[];
    enabled: string[];
    containers: Record<string, string[]>;
  } {
    return JSON.parse(readFileSync(join(this.state, 'state.json'), 'utf8'));
  }

  /** A unit file by unit name; `name@instance.service` reads the template `name@.service`. */
  unit(name: string): { unit: UnitFile; instance: string } {
    const m = /^(.+@)(.+)(\.service)$/.exec(name);
    const file = m ? `${m[1]}${m[3]}` : name;
    const unit = parseUnit(readFileSync(this.path(`/etc/systemd/system/${file}`), 'utf8'));
    return { unit, instance: m ? (m[2] as string) : '' };
  }

  /** Plays systemd: runs the Exec lines of every unit started since the last call, in start order. */
  playStartedUnits(): void {
    const starts = this.starts();
    for (const s of starts.slice(this.played)) {
      if (!s.started) continue;
      const { unit, instance } = this.unit(s.unit);
      const env: Record<string, string> = {};
      for (const file of unitValues(unit, 'EnvironmentFile')) {
        const path = this.path(file.replace(/%i/g, instance));
        Object.assign(env, parseEnvFile(readFileSync(path, 'utf8')));
      }
      const oneshot = unitValues(unit, 'Type').includes('oneshot');
      for (const key of ['ExecStartPre', 'ExecStart']) {
        for (const line of unitValues(unit, key)) {
          const argv = execArgv(line, { env, host: 'ip-10-0-1-23', instance });
          const ignoreFailure = (argv[0] as string).startsWith('-');
          const command = (argv[0] as string).replace(/^-/, '');
          if (command !== '/usr/bin/docker')
            throw new Error(`${s.unit} runs ${command}, not docker`);
          const error = this.docker(argv.slice(1), oneshot);
          if (error && !ignoreFailure) throw new Error(`${s.unit} ${key} failed: ${error}`);
        }
      }
    }
    this.played = starts.length;
  }

  /**
   * The docker CLI as the units use it (in-process: no spawn per call), with dockerd's rule that a name is
   * taken until its container is removed. Returns an error message, or nothing on success.
   */
  private docker(args: string[], oneshot: boolean): string | undefined {
    appendFileSync(
      join(this.state, 'calls.jsonl'),
      `${JSON.stringify({ cmd: 'docker', args, oneshot })}\n`,
    );
    const file = join(this.state, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as {
      containers: Record<string, string[]>;
    };
    const name =
      args[0] === 'run' ? (args[args.indexOf('--name') + 1] as string) : (args.at(-1) as string);
    if (args[0] === 'rm' || args[0] === 'stop') {
      delete state.containers[name];
    } else if (args[0] === 'run') {
      if (state.containers[name])
        return `Conflict. The container name "/${name}" is already in use`;
      // A one-shot container (--rm) has exited and is gone by the time its unit is active.
      if (!oneshot) state.containers[name] = args;
    } else {
      return `unexpected docker ${args[0]}`;
    }
    writeFileSync(file, JSON.stringify(state));
    return undefined;
  }

  /** A reboot: units and mounts are gone; disks, their filesystems and (after an unclean stop) containers stay. */
  reboot(): void {
    const file = join(this.state, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...state, active: [], mounts: {} }));
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
