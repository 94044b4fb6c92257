#!/usr/bin/env node
// The commands of a GPU host that cannot run in a rehearsal, as one program (`host-stub.mjs -- <command> ...`):
// nvidia-smi (GPUs), lsblk/mountpoint (the instance-store NVMe the Deep Learning AMI mounts), systemctl (units
// are read from the host root and their Exec lines run, like systemd would) and docker (a vLLM container becomes a
// local-lm server on the port it publishes; the controller container becomes `node` running the mounted bundle).
// Everything else the boot script runs (bash, curl, the AWS CLI, sha256sum) is real.
//
// Environment: STUB_ROOT (host root folder), STUB_STATE (state folder), STUB_DLAMI_NVME (the mounted NVMe path),
// STUB_GPUS (count), STUB_VLLM (command that starts a local-lm stand-in: argv JSON), STUB_CONTAINER_ENV (JSON
// of extra env for the controller: the AWS endpoint that stands in for the instance role).
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

const [, , , cmd, ...args] = process.argv;
const ROOT = process.env.STUB_ROOT ?? '/';
const STATE = process.env.STUB_STATE ?? '/tmp';
const at = (p) => join(ROOT, p);

function record(entry) {
  appendFileSync(join(STATE, 'calls.jsonl'), `${JSON.stringify({ cmd, ...entry })}\n`);
}
function fail(message, code = 1) {
  process.stderr.write(`rehearsal host stub: ${message}\n`);
  record({ args, failed: message });
  process.exit(code);
}
function readState() {
  const f = join(STATE, 'state.json');
  return existsSync(f)
    ? JSON.parse(readFileSync(f, 'utf8'))
    : { active: [], enabled: [], containers: {}, vllmCount: 0 };
}
function writeState(s) {
  writeFileSync(join(STATE, 'state.json'), JSON.stringify(s, null, 1));
}
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- systemd unit files ----------------------------------------------------------------------------------

/** `KEY=value` entries of a unit, continuation lines joined; repeated keys keep every value. */
function parseUnit(text) {
  const entries = [];
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) entries.push([m[1], m[2]]);
  }
  return entries;
}

/** An EnvironmentFile: KEY=value lines, values optionally quoted. */
function parseEnvFile(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')))
      v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

/** Splits an Exec line into words the way systemd does (quotes, `${VAR}`, `$VAR` split at whitespace, specifiers). */
function execWords(line, env, instance) {
  const spec = (s) =>
    s.replace(/%(.)/g, (_, c) =>
      c === 'i' ? instance : c === 'H' ? hostname() : c === '%' ? '%' : `%${c}`,
    );
  const words = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(line))) {
    if (m[1] !== undefined) words.push(spec(m[1]));
    else if (m[2] !== undefined)
      words.push(
        spec(m[2].replace(/\\(.)/g, '$1')).replace(/\$\{(\w+)\}/g, (_, k) => env[k] ?? ''),
      );
    else {
      const w = m[3];
      const whole = /^\$(\w+)$/.exec(w);
      if (whole) words.push(...(env[whole[1]] ?? '').split(/\s+/).filter(Boolean));
      else
        words.push(
          spec(w)
            .replace(/\$\{(\w+)\}/g, (_, k) => env[k] ?? '')
            .replace(/\$\$/g, '$'),
        );
    }
  }
  return words;
}

function unitFile(unit) {
  const direct = at(`/etc/systemd/system/${unit}`);
  if (existsSync(direct)) return { path: direct, instance: '' };
  const m = /^(.+@)(.+)(\.service)$/.exec(unit);
  if (m && existsSync(at(`/etc/systemd/system/${m[1]}${m[3]}`))) {
    return { path: at(`/etc/systemd/system/${m[1]}${m[3]}`), instance: m[2] };
  }
  return undefined;
}

/** Runs a unit's ExecStartPre and ExecStart lines. Returns the exit status of ExecStart (0 for servers). */
function startUnit(unit) {
  const f = unitFile(unit);
  if (!f) fail(`unit ${unit} not found under ${at('/etc/systemd/system')}`, 5);
  const entries = parseUnit(readFileSync(f.path, 'utf8'));
  const env = {};
  for (const [k, v] of entries) {
    if (k !== 'EnvironmentFile') continue;
    const optional = v.startsWith('-');
    const path = at(execWords(optional ? v.slice(1) : v, {}, f.instance)[0]);
    if (existsSync(path)) Object.assign(env, parseEnvFile(path));
    else if (!optional) fail(`${unit}: EnvironmentFile ${path} is missing`);
  }
  const oneshot = entries.some(([k, v]) => k === 'Type' && v === 'oneshot');
  for (const [k, v] of entries) {
    if (k !== 'ExecStartPre' && k !== 'ExecStart') continue;
    let line = v.trim();
    const ignoreFailure = line.startsWith('-');
    line = line.replace(/^[-@+!:]+/, '');
    const words = execWords(line, env, f.instance);
    const program = words[0].split('/').pop();
    let status;
    const path =
      words[0].startsWith('/opt/ep/') || words[0].startsWith('/usr/local/')
        ? at(words[0])
        : words[0];
    if (program === 'docker')
      status = docker(words.slice(1), { unit, wait: oneshot || k === 'ExecStartPre' });
    else if (oneshot || k === 'ExecStartPre') {
      status = spawnSync(path, words.slice(1), {
        stdio: 'inherit',
        env: { ...process.env, ...env },
      }).status;
    } else {
      // A long-running service that is not a container (a watchdog, an agent): started in the background.
      const out = openSync(join(STATE, `${unit}.log`), 'a');
      const child = spawn(path, words.slice(1), {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...env },
      });
      child.unref();
      const now = readState();
      now.containers[unit] = { pid: child.pid, image: '(host process)', args: words, unit };
      writeState(now);
      status = 0;
    }
    if (status !== 0 && !ignoreFailure) return status ?? 1;
  }
  return 0;
}

function systemctl() {
  const s = readState();
  const verb = args[0];
  const units = args.slice(1).filter((a) => !a.startsWith('-'));
  record({ args });
  if (verb === 'daemon-reload') return 0;
  if (verb === 'enable') {
    for (const u of units) if (!s.enabled.includes(u)) s.enabled.push(u);
    writeState(s);
    return 0;
  }
  if (verb === 'disable') {
    s.enabled = s.enabled.filter((u) => !units.includes(u));
    writeState(s);
    return 0;
  }
  if (verb === 'is-active') return units.every((u) => s.active.includes(u)) ? 0 : 3;
  if (verb === 'is-enabled') return units.every((u) => s.enabled.includes(u)) ? 0 : 1;
  if (verb === 'start' || verb === 'restart') {
    for (const u of units) {
      if (verb === 'start' && readState().active.includes(u)) continue;
      const status = startUnit(u);
      if (status !== 0) fail(`${u} failed (status ${status})`, status);
      const now = readState();
      if (!now.active.includes(u)) now.active.push(u);
      writeState(now);
    }
    return 0;
  }
  if (verb === 'stop') {
    for (const u of units) {
      const now = readState();
      now.active = now.active.filter((x) => x !== u);
      writeState(now);
    }
    return 0;
  }
  fail(`systemctl ${verb} is not simulated`);
}

// ---- docker ----------------------------------------------------------------------------------------------

const BOOLEAN_FLAGS = new Set([
  '--rm',
  '-d',
  '--detach',
  '--init',
  '--privileged',
  '-i',
  '-t',
  '--read-only',
  '-it',
]);

/** `docker run` flags and the command after the image. */
function parseRun(argv) {
  const flags = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) break;
    if (a.includes('=') && a.startsWith('--')) {
      const [k, ...v] = a.split('=');
      flags.push([k, v.join('=')]);
    } else if (BOOLEAN_FLAGS.has(a)) flags.push([a, true]);
    else flags.push([a, argv[++i]]);
  }
  const all = (k, ...aliases) =>
    flags.filter(([f]) => f === k || aliases.includes(f)).map(([, v]) => v);
  return {
    image: argv[i],
    command: argv.slice(i + 1),
    all,
    one: (k, ...al) => all(k, ...al).at(-1),
  };
}

/** Host path (inside the root) of a container path, through the container's volumes. */
function hostPathOf(path, volumes) {
  for (const [src, dst] of volumes) {
    if (path === dst || path.startsWith(`${dst}/`)) return at(src + path.slice(dst.length));
  }
  return path;
}

function killContainer(name) {
  const s = readState();
  const c = s.containers[name];
  if (c && alive(c.pid)) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      process.kill(c.pid, 'SIGTERM');
    }
  }
  delete s.containers[name];
  writeState(s);
}

function docker(argv, ctx = {}) {
  const [verb, ...rest] = argv;
  appendFileSync(
    join(STATE, 'calls.jsonl'),
    `${JSON.stringify({ cmd: 'docker', args: argv, unit: ctx.unit })}\n`,
  );
  if (verb === 'rm' || verb === 'stop' || verb === 'kill') {
    for (const name of rest.filter((a) => !a.startsWith('-') && !/^\d+$/.test(a)))
      killContainer(name);
    return 0;
  }
  if (verb === 'pull' || verb === 'login') return 0;
  if (verb !== 'run') {
    process.stderr.write(`rehearsal host stub: docker ${verb} is not simulated\n`);
    return 1;
  }
  const run = parseRun(rest);
  const name = run.one('--name');
  const s = readState();
  if (name && s.containers[name] && alive(s.containers[name].pid)) {
    process.stderr.write(
      `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.\n`,
    );
    return 125;
  }
  const volumes = run.all('--volume', '-v').map((v) => v.split(':'));
  const env = {};
  for (const file of run.all('--env-file')) Object.assign(env, parseEnvFile(at(file)));
  for (const e of run.all('--env', '-e')) {
    const [k, ...v] = e.split('=');
    env[k] = v.length ? v.join('=') : (process.env[k] ?? '');
  }
  const logs = join(STATE, `${name ?? 'container'}.log`);
  const out = openSync(logs, 'a');

  // The model download: check it got the token, and that the models it would fetch are named.
  if (
    run.one('--entrypoint') === 'python3' ||
    run.command.some((c) => c.endsWith('download-models.py'))
  ) {
    if (!env.HF_TOKEN) {
      appendFileSync(logs, 'download: HF_TOKEN is not set\n');
      return 1;
    }
    const models = run.command.filter((c) => /^[\w.-]+\/[\w.-]+$/.test(c));
    appendFileSync(
      logs,
      `download: would fetch ${models.join(', ')} with a token of ${env.HF_TOKEN.length} characters\n`,
    );
    writeFileSync(
      join(STATE, 'downloaded.json'),
      JSON.stringify({ models, tokenLength: env.HF_TOKEN.length }),
    );
    return 0;
  }

  let child;
  const served = run.command.indexOf('--served-model-name');
  if (served >= 0) {
    // A vLLM server: a local-lm stand-in on the host port this container publishes.
    const publish = run.one('--publish', '-p') ?? '';
    const [hostIp, hostPort] = publish.split(':');
    const maxLen = run.command[run.command.indexOf('--max-model-len') + 1] ?? '2048';
    const index = s.vllmCount++;
    writeState(s);
    const [exe, ...pre] = JSON.parse(process.env.STUB_VLLM);
    child = spawn(
      exe,
      [
        ...pre,
        '--served-model-name',
        run.command[served + 1],
        '--host',
        hostIp || '127.0.0.1',
        '--port',
        hostPort,
        '--max-model-len',
        maxLen,
        '--index',
        String(index),
      ],
      {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...env },
      },
    );
  } else if (run.command[0] === 'node') {
    // The controller: `node` on the mounted bundle, the container's env with mounted paths mapped into the root.
    const mapped = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, hostPathOf(v, volumes)]),
    );
    const extra = JSON.parse(process.env.STUB_CONTAINER_ENV ?? '{}');
    child = spawn(
      process.execPath,
      run.command.slice(1).map((a) => hostPathOf(a, volumes)),
      {
        detached: true,
        stdio: ['ignore', out, out],
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extra, ...mapped },
      },
    );
  } else {
    process.stderr.write(
      `rehearsal host stub: no stand-in for image ${run.image} ${run.command.join(' ')}\n`,
    );
    return 1;
  }
  child.unref();
  const now = readState();
  now.containers[name] = { pid: child.pid, image: run.image, args: rest, unit: ctx.unit };
  writeState(now);
  return 0;
}

// ---- the rest ----------------------------------------------------------------------------------------------

mkdirSync(STATE, { recursive: true });
switch (cmd) {
  case 'nvidia-smi': {
    record({ args });
    const n = Number(process.env.STUB_GPUS ?? '4');
    process.stdout.write(Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
    process.exit(0);
    break;
  }
  case 'lsblk':
    record({ args });
    process.stdout.write('/dev/nvme1n1 Amazon EC2 NVMe Instance Storage\n');
    process.exit(0);
    break;
  case 'mountpoint':
    record({ args });
    process.exit(args.at(-1) === process.env.STUB_DLAMI_NVME ? 0 : 1);
    break;
  case 'systemctl':
    process.exit(systemctl());
    break;
  case 'docker':
    process.exit(docker(args));
    break;
  default:
    fail(`${cmd} is not expected on a host whose Deep Learning AMI has mounted the NVMe`);
}
