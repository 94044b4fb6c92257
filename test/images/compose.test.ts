/**
 * images/compose.yaml: up to date with its generator, and describing the same containers as the systemd units
 * of an AWS host with the same models (image, arguments, GPUs, ports, environment, mounts). Both sides are read
 * back from their rendered text, not from the spec they were generated from.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../controller/config.ts';
import { composeFiles, COMPOSE_CONFIG_FILE, COMPOSE_FILE } from '../../infra/host/write-compose.ts';
import { renderUserData } from '../../infra/host/user-data.ts';
import { hostSettings } from '../infra/host/fixtures.ts';
import { execArgv, parseEnvFile, parseUnit, unitValues } from '../infra/host/systemd-words.ts';

/** What both deployments must agree on for one container. */
interface Container {
  image: string;
  entrypoint: string | null;
  command: string[];
  gpus: string[];
  ports: string[];
  env: string[];
  secretEnv: string[];
  volumes: string[];
  network: string | null;
  ipc: string | null;
  init: boolean;
  user: string | null;
}

/** Host paths of an AWS host and the compose sources that stand for them. */
const SOURCES: Record<string, string> = {
  '/var/lib/ep/hf-cache': 'hf-cache',
  '/var/lib/ep/vllm-cache': 'vllm-cache',
  '/opt/ep/bin/download-models.py': '../infra/host/download-models.py',
  '/opt/ep/controller': '../dist',
  '/etc/ep/host-config.json': './compose.config.json',
  '/var/lib/ep/calibration': '../.cache/ep-calibration',
};
/** The host's env file holds exactly these secrets. */
const ENV_FILES: Record<string, string[]> = { '/etc/ep/hf.env': ['HF_TOKEN'] };
/** Mounts only the compose box has: its local key store (the AWS host uses Secrets Manager). */
const COMPOSE_ONLY_TARGETS = ['/var/lib/ep/keys'];

/** Reads `docker run` argv (after `run`) back into a Container. */
function fromDockerRun(argv: string[]): Container {
  const c: Container = {
    image: '',
    entrypoint: null,
    command: [],
    gpus: [],
    ports: [],
    env: [],
    secretEnv: [],
    volumes: [],
    network: null,
    ipc: null,
    init: false,
    user: null,
  };
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('--')) {
    const f = argv[i++] as string;
    if (f === '--rm') continue;
    if (f === '--init') {
      c.init = true;
      continue;
    }
    const v = argv[i++] as string;
    if (f === '--gpus') c.gpus = (/^"device=(.*)"$/.exec(v)?.[1] ?? `unparsed ${v}`).split(',');
    else if (f === '--publish') c.ports.push(v);
    else if (f === '--env') c.env.push(v);
    else if (f === '--env-file') c.secretEnv.push(...(ENV_FILES[v] ?? [`unknown ${v}`]));
    else if (f === '--volume') {
      const [src, target, mode] = v.split(':') as [string, string, string?];
      c.volumes.push(
        `${SOURCES[src] ?? `unmapped ${src}`}:${target}:${mode === 'ro' ? 'ro' : 'rw'}`,
      );
    } else if (f === '--entrypoint') c.entrypoint = v;
    else if (f === '--network') c.network = v;
    else if (f === '--ipc') c.ipc = v;
    else if (f === '--user') c.user = v;
    else if (!['--name', '--log-driver', '--log-opt'].includes(f))
      throw new Error(`unexpected docker flag ${f}`);
  }
  c.image = argv[i] as string;
  c.command = argv.slice(i + 1);
  return normalise(c);
}

function fromCompose(s: Record<string, unknown>): Container {
  const env = (s.environment as string[] | undefined) ?? [];
  const devices = (
    s.deploy as
      { resources: { reservations: { devices: Array<{ device_ids: string[] }> } } } | undefined
  )?.resources.reservations.devices;
  const volumes =
    (s.volumes as Array<{ source: string; target: string; read_only: boolean }> | undefined) ?? [];
  return normalise({
    image: s.image as string,
    entrypoint: ((s.entrypoint as string[] | undefined) ?? [null])[0] ?? null,
    command: (s.command as string[]).map(String),
    gpus: devices?.flatMap((d) => d.device_ids) ?? [],
    ports: (s.ports as string[] | undefined) ?? [],
    env: env.filter((e) => e.includes('=')),
    secretEnv: env.filter((e) => !e.includes('=')),
    volumes: volumes
      .filter((v) => !COMPOSE_ONLY_TARGETS.includes(v.target))
      .map((v) => `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}`),
    network: (s.network_mode as string | undefined) ?? null,
    ipc: (s.ipc as string | undefined) ?? null,
    init: s.init === true,
    user: (s.user as string | undefined) ?? null,
  });
}

function normalise(c: Container): Container {
  return {
    ...c,
    env: [...c.env].sort(),
    secretEnv: [...c.secretEnv].sort(),
    volumes: [...c.volumes].sort(),
  };
}

/** Every container an AWS host runs, by name, read from the units in its user data. */
function hostContainers(): Map<string, Container> {
  const doc = parse(renderUserData(hostSettings({ region: 'eu-west-1' }))) as {
    write_files: Array<{ path: string; content: string; encoding?: string }>;
  };
  const files = new Map(
    doc.write_files.map((f) => [
      f.path,
      f.encoding ? gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8') : f.content,
    ]),
  );
  const hostEnv = parseEnvFile(files.get('/etc/ep/host.env') as string);
  const units = [
    hostEnv.EP_DOWNLOAD_UNIT as string,
    ...(hostEnv.EP_SERVER_UNITS as string).split(' '),
  ];
  const out = new Map<string, Container>();
  for (const name of units) {
    const m = /^(.+@)(.+)(\.service)$/.exec(name);
    const unit = parseUnit(
      files.get(`/etc/systemd/system/${m ? `${m[1]}${m[3]}` : name}`) as string,
    );
    const instance = m?.[2] ?? '';
    const env: Record<string, string> = {};
    for (const f of unitValues(unit, 'EnvironmentFile')) {
      Object.assign(env, parseEnvFile(files.get(f.replace('%i', instance)) as string));
    }
    const argv = execArgv(unitValues(unit, 'ExecStart')[0] as string, { env, instance });
    expect(argv.slice(0, 2)).toEqual(['/usr/bin/docker', 'run']);
    out.set(argv[argv.indexOf('--name') + 1] as string, fromDockerRun(argv.slice(2)));
  }
  return out;
}

describe('images/compose.yaml', () => {
  it('is up to date with infra/host/write-compose.ts (run it after changing the host containers)', async () => {
    for (const [path, text] of Object.entries(await composeFiles())) {
      expect(
        readFileSync(path, 'utf8'),
        `${path} is stale: npx tsx infra/host/write-compose.ts`,
      ).toBe(text);
    }
  });

  it('describes the same containers as the systemd units of an AWS host', () => {
    const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
    };
    const host = hostContainers();
    expect(Object.keys(compose.services).sort()).toEqual([...host.keys()].sort());
    expect(host.size).toBe(6);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(fromCompose(service), name).toEqual(host.get(name));
    }
    // Spot checks that the comparison sees real values.
    const phi = host.get('ep-vllm-phi-2') as Container;
    expect(phi.gpus).toEqual(['2']);
    expect(phi.ports).toEqual(['127.0.0.1:8003:8000']);
    expect(phi.command).toContain('microsoft/phi-2');
  });

  it('starts servers only after the download, and gives the controller a valid config', () => {
    const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
    };
    expect(compose.services['ep-vllm-mistral-7b']?.depends_on).toEqual({
      'ep-model-download': { condition: 'service_completed_successfully' },
    });
    const config = parseConfig(JSON.parse(readFileSync(COMPOSE_CONFIG_FILE, 'utf8')));
    expect(config.models.map((m) => m.backends[0])).toEqual(
      [8001, 8002, 8003, 8004].map((p) => `http://127.0.0.1:${p}`),
    );
    expect(config.auth.store).toBe('file:/var/lib/ep/keys/keys.json');
  });
});
