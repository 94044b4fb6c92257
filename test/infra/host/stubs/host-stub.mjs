#!/usr/bin/env node
// Stand-in for the host commands ep-boot.sh calls (aws, systemctl, mount, mkfs.ext4, ...). Each command
// in the temp bin dir is a wrapper running `node host-stub.mjs -- NAME ARGS...` (the `--` keeps Node 20 from
// reading a stub's `--env-file`-like arguments as its own). Records every call in $STUB_STATE/calls.jsonl and keeps
// the state the boot script can observe (mounts, filesystems, active units) in $STUB_STATE/state.json; the test's
// simulated systemd adds the containers (host-sim.ts).
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';

const [, cmd, ...args] = process.argv.slice(2);
const dir = process.env.STUB_STATE;
const statePath = join(dir, 'state.json');
const state = existsSync(statePath)
  ? JSON.parse(readFileSync(statePath, 'utf8'))
  : { mounts: {}, formatted: [], arrays: [], active: [], enabled: [], containers: {} };
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 1));
appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify({ cmd, args, oneshot: false })}\n`);

const out = (s) => process.stdout.write(s);
const fail = (msg, code = 1) => {
  process.stderr.write(`${cmd}: ${msg}\n`);
  process.exit(code);
};
const valueOf = (flag) => args[args.indexOf(flag) + 1];
// Objects written through the AWS CLI live here as files (`<bucket>/<key>`); hosts of one test may share it.
const s3Dir = process.env.STUB_S3_DIR ?? join(dir, 's3');
const objectPath = (bucket, key) => join(s3Dir, bucket, key);
const etagOf = (path) => createHash('md5').update(readFileSync(path)).digest('hex');
const splitUri = (uri) => {
  const rest = uri.slice('s3://'.length);
  return [rest.slice(0, rest.indexOf('/')), rest.slice(rest.indexOf('/') + 1)];
};

switch (cmd) {
  case 'curl': {
    const url = args.find((a) => a.startsWith('http'));
    if (url.endsWith('/latest/api/token')) out('TOKEN');
    else if (!args.includes('X-aws-ec2-metadata-token: TOKEN')) fail('IMDSv2 token missing', 22);
    else if (url.endsWith('/instance-id')) out('i-0123456789abcdef0');
    else if (url.endsWith('/placement/region')) out('eu-west-1');
    else fail(`unexpected ${url}`, 22);
    break;
  }
  case 'nvidia-smi':
    out(Array.from({ length: Number(process.env.STUB_GPUS ?? 4) }, (_, i) => `${i}\n`).join(''));
    break;
  case 'lsblk':
    out(
      process.env.STUB_DISKS
        ? `${process.env.STUB_DISKS}\n`
        : '/dev/nvme0n1 Amazon Elastic Block Store\n',
    );
    break;
  case 'mountpoint':
    process.exit(Object.values(state.mounts).includes(args.at(-1)) ? 0 : 1);
    break;
  case 'findmnt': {
    const target = state.mounts[valueOf('-S')];
    if (!target) process.exit(1);
    out(`${target}\n`);
    break;
  }
  case 'mount':
    state.mounts[args.at(-2)] = args.at(-1);
    save();
    break;
  case 'blkid':
    if (!state.formatted.includes(args.at(-1))) process.exit(2);
    out('ext4\n');
    break;
  case 'mkfs.ext4':
    state.formatted.push(args.at(-1));
    save();
    break;
  case 'mdadm': {
    const md = args[1];
    if (args[0] === '--assemble' && !state.arrays.includes(md)) fail('no array to assemble');
    if (args[0] === '--create') state.arrays.push(md);
    save();
    break;
  }
  case 'aws':
    if (args[0] === 'secretsmanager' && valueOf('--secret-id').endsWith('/dockerhub')) {
      if (!process.env.STUB_DOCKERHUB) fail('ResourceNotFoundException: no value', 254);
      out(`${process.env.STUB_DOCKERHUB}\n`);
    } else if (args[0] === 'secretsmanager') {
      if (!process.env.STUB_HF_TOKEN)
        fail('ResourceNotFoundException: no value for staging label AWSCURRENT', 254);
      out(`${process.env.STUB_HF_TOKEN}\n`);
    } else if (args[0] === 's3api') {
      // The calibration sync: list-objects-v2 (ETag of one key, or None) and put-object (prints the new ETag).
      if (process.env.STUB_S3_DOWN) fail('Could not connect to the endpoint URL', 255);
      const path = objectPath(
        valueOf('--bucket'),
        valueOf(args[1] === 'put-object' ? '--key' : '--prefix'),
      );
      if (args[1] === 'list-objects-v2') out(existsSync(path) ? `"${etagOf(path)}"\n` : 'None\n');
      else if (args[1] === 'put-object') {
        mkdirSync(dirname(path), { recursive: true });
        copyFileSync(valueOf('--body'), path);
        out(`"${etagOf(path)}"\n`);
      } else fail(`unexpected aws ${args.join(' ')}`);
    } else if (args[0] === 's3' && args[1] === 'cp') {
      const src = args.find((a) => a.startsWith('s3://'));
      if (process.env.STUB_S3_DOWN) fail('Could not connect to the endpoint URL');
      const stored = objectPath(...splitUri(src));
      // An object written through the CLI comes back as written; a missing one under calibration/ is a 404.
      if (existsSync(stored)) copyFileSync(stored, args.at(-1));
      else if (src.includes('/calibration/'))
        fail(
          'An error occurred (404) when calling the HeadObject operation: Key "calibration.json" does not exist',
        );
      // A controller config is JSON (the boot script edits it); anything else is opaque.
      else
        writeFileSync(
          args.at(-1),
          src.endsWith('.json')
            ? `${JSON.stringify({ source: src, models: [{ name: 'vicuna-7b' }, { name: 'llama-2-7b' }] })}\n`
            : `// object ${src}\n`,
        );
    } else if (args[0] === 'cloudwatch' && args[1] === 'put-metric-data') {
      if (process.env.STUB_CLOUDWATCH_DOWN) fail('Could not connect to the endpoint URL');
    } else if (args[0] === 'autoscaling') {
      // set-instance-health / set-instance-protection: recorded in calls.jsonl.
    } else fail(`unexpected aws ${args.join(' ')}`);
    break;
  case 'docker':
    // The boot script's own docker calls (pull, login); the units' docker runs are played by host-sim.ts.
    if (args[0] === 'pull' && process.env.STUB_PULL_FAILS) fail('toomanyrequests: rate limit');
    if (!['pull', 'login'].includes(args[0])) fail(`unexpected docker ${args[0]}`);
    break;
  case 'systemctl': {
    const units = args.filter((a) => !a.startsWith('-')).slice(1);
    if (args[0] === 'enable') state.enabled = [...new Set([...state.enabled, ...units])];
    if (args[0] === 'start') {
      for (const u of units) {
        // Like systemd: starting an active unit does nothing. The test plays the units this log says started.
        const started = !state.active.includes(u);
        if (started) state.active.push(u);
        appendFileSync(
          join(dir, 'starts.jsonl'),
          `${JSON.stringify({ unit: u, started, noBlock: args.includes('--no-block') })}\n`,
        );
      }
    }
    save();
    break;
  }
  default:
    fail('no stub behaviour');
}
