/**
 * @module
 * Boots a host from the user data the emulator holds: cloud-init's `write_files` are laid out under a temporary
 * root, then the real `ep-boot.sh` runs with the real AWS CLI against the emulator. Only what cannot run here is
 * stubbed (./host-stub.mjs): docker, nvidia-smi, systemctl and the NVMe devices. Instance metadata comes from a
 * small IMDSv2 server on loopback that answers with the emulated instance's own values.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';

const STUB = fileURLToPath(new URL('./host-stub.mjs', import.meta.url));
const VLLM_STANDIN = fileURLToPath(new URL('./vllm-standin.ts', import.meta.url));
const STUBBED = [
  'docker',
  'systemctl',
  'nvidia-smi',
  'lsblk',
  'mountpoint',
  'findmnt',
  'blkid',
  'mkfs.ext4',
  'mount',
  'mdadm',
];

/** One `write_files` entry of a cloud-config. */
interface WriteFile {
  path: string;
  content?: string;
  encoding?: string;
  permissions?: string;
}

/** The files a `#cloud-config` writes, decoded. @throws Error when it is not a cloud-config */
export function cloudConfigFiles(
  userData: string,
): Array<{ path: string; content: Buffer; mode: number }> {
  if (!userData.startsWith('#cloud-config'))
    throw new Error('the user data is not a #cloud-config document');
  const doc = parse(userData) as { write_files?: WriteFile[] };
  return (doc.write_files ?? []).map((f) => {
    const raw = f.content ?? '';
    const enc = f.encoding ?? '';
    let content: Buffer;
    if (/^(gz\+b64|gzip\+base64)$/.test(enc)) content = gunzipSync(Buffer.from(raw, 'base64'));
    else if (/^(b64|base64)$/.test(enc)) content = Buffer.from(raw, 'base64');
    else if (/^(gz|gzip)$/.test(enc)) content = gunzipSync(Buffer.from(raw, 'binary'));
    else content = Buffer.from(raw);
    return { path: f.path, content, mode: parseInt(f.permissions ?? '0644', 8) };
  });
}

/** What the instance metadata service tells the host. */
export interface InstanceIdentity {
  readonly instanceId: string;
  readonly region: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
}

/** An IMDSv2 server: a token first (PUT), then metadata paths with that token. */
async function startImds(id: InstanceIdentity): Promise<Server> {
  const token = `rehearsal-${Math.random().toString(36).slice(2)}`;
  const values: Record<string, string> = {
    'instance-id': id.instanceId,
    'placement/region': id.region,
    'placement/availability-zone': id.availabilityZone,
    'local-ipv4': id.privateIp,
    'local-hostname': `ip-${id.privateIp.replace(/\./g, '-')}.ec2.internal`,
    hostname: `ip-${id.privateIp.replace(/\./g, '-')}.ec2.internal`,
  };
  const server = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      res.end(token);
      return;
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) {
      res.statusCode = 401;
      res.end();
      return;
    }
    const value = values[(req.url ?? '').replace(/^\/latest\/meta-data\//, '')];
    res.statusCode = value === undefined ? 404 : 200;
    res.end(value ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export interface BootOptions {
  /** Temporary folder that becomes the host's `/`. */
  readonly root: string;
  /** The decoded user data. */
  readonly userData: string;
  readonly identity: InstanceIdentity;
  /** AWS client environment (the emulator's endpoint stands in for the instance role). */
  readonly awsEnv: Record<string, string>;
  /** Repository root (for the local-lm stand-in). */
  readonly repoRoot: string;
  readonly timeoutMs?: number;
}

export interface BootedHost {
  readonly root: string;
  /** The boot script's output. */
  readonly output: string;
  /** Containers the host started: name → pid and unit. */
  containers(): Record<string, { pid: number; unit?: string; args: string[] }>;
  /** What the model download was asked to fetch. */
  downloaded(): { models: string[]; tokenLength: number } | undefined;
  /** The log of one container. */
  containerLog(name: string): string;
  /** Runs another of the host's scripts (a host path, e.g. the calibration sync) as the boot script ran. */
  runScript(hostPath: string, timeoutMs?: number): Promise<{ code: number | null; output: string }>;
  /** Stops every container and the metadata server. */
  shutdown(): Promise<void>;
}

/**
 * Host paths the host scripts read from `EP_*` variables, mapped into the root: every `EP_X="${EP_X:-/path}"`
 * default a shell script in the host's bin directory declares (the boot script, the library the scripts source,
 * ...; so a new path never touches this machine's own /), plus the known ones.
 */
function pathEnv(root: string, scripts: readonly string[]): Record<string, string> {
  const p = (x: string) => join(root, x);
  const declared: Record<string, string> = {};
  for (const script of scripts)
    for (const m of script.matchAll(/^(EP_[A-Z0-9_]+)="\$\{\1:-(\/[^}]*)\}"/gm))
      declared[m[1]!] = p(m[2]!);
  return {
    ...declared,
    EP_HOST_ENV: p('/etc/ep/host.env'),
    EP_ETC_DIR: p('/etc/ep'),
    EP_BUNDLE_DIR: p('/opt/ep/controller'),
    EP_CACHE_LINK: p('/var/lib/ep/hf-cache'),
    EP_DLAMI_NVME: p('/opt/dlami/nvme'),
    EP_NVME_MOUNT: p('/mnt/ep-nvme'),
    EP_ROOT_STORAGE: p('/var/lib/ep/storage'),
    EP_MD_DEVICE: p('/dev/md/ep-cache'),
    EP_RETRY_SLEEP: '1',
  };
}

/** Runs a bash script to its end (killed after `timeoutMs`); stdout and stderr together. */
function runBash(
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { env, cwd, detached: false });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, output: out });
    });
  });
}

/**
 * Writes the user data's files and runs the boot script.
 * @throws Error with the boot script's output when it fails or times out
 */
export async function bootHost(o: BootOptions): Promise<BootedHost> {
  const { root } = o;
  for (const f of cloudConfigFiles(o.userData)) {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    chmodSync(path, f.mode);
  }
  const bin = join(root, '.rehearsal', 'bin');
  const state = join(root, '.rehearsal', 'state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state, { recursive: true });
  for (const c of STUBBED) {
    writeFileSync(join(bin, c), `#!/bin/sh\nexec "${process.execPath}" "${STUB}" -- ${c} "$@"\n`, {
      mode: 0o755,
    });
  }
  const script = join(root, 'opt/ep/bin/ep-boot.sh');
  if (!existsSync(script)) throw new Error('the user data does not write /opt/ep/bin/ep-boot.sh');
  const binDir = dirname(script);
  const paths = pathEnv(
    root,
    readdirSync(binDir)
      .filter((f) => f.endsWith('.sh'))
      .map((f) => readFileSync(join(binDir, f), 'utf8')),
  );
  mkdirSync(paths.EP_DLAMI_NVME!, { recursive: true });
  const imds = await startImds(o.identity);
  const env = {
    ...process.env,
    ...o.awsEnv,
    ...paths,
    PATH: `${bin}:${process.env.PATH}`,
    EP_IMDS: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
    STUB_ROOT: root,
    STUB_STATE: state,
    STUB_DLAMI_NVME: paths.EP_DLAMI_NVME!,
    STUB_VLLM: JSON.stringify([process.execPath, '--import', 'tsx', VLLM_STANDIN]),
    STUB_CONTAINER_ENV: JSON.stringify(o.awsEnv),
  };
  const host: BootedHost = {
    root,
    output: '',
    containers: () => {
      const f = join(state, 'state.json');
      return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')).containers ?? {}) : {};
    },
    downloaded: () => {
      const f = join(state, 'downloaded.json');
      return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
    },
    containerLog: (name) => {
      const f = join(state, `${name}.log`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    runScript: (hostPath, timeoutMs) =>
      runBash(join(root, hostPath), env, o.repoRoot, timeoutMs ?? 60_000),
    shutdown: async () => {
      for (const c of Object.values(host.containers())) {
        try {
          process.kill(-c.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await new Promise<void>((resolve) => imds.close(() => resolve()));
    },
  };
  const { code, output } = await runBash(script, env, o.repoRoot, o.timeoutMs ?? 180_000);
  (host as { output: string }).output = output;
  writeFileSync(join(root, '.rehearsal', 'ep-boot.log'), output);
  if (code !== 0) {
    await host.shutdown();
    const tail = output
      .trim()
      .split('\n')
      .filter((l) => /error|fail|denied|cannot|does not/i.test(l))
      .slice(-3);
    throw new Error(
      `ep-boot.sh exited ${code}: ${(tail.length ? tail : output.trim().split('\n').slice(-3)).join(' | ')}`,
    );
  }
  return host;
}
