/**
 * ep-lib.sh, the start every host shell script shares, run for real (bash): each script finds it in its own
 * directory, and stops at once when it is missing; it sets strict mode down into command substitutions, names
 * the script in every log line, reads the settings from `EP_HOST_ENV` and asks IMDSv2 at `EP_IMDS` (a loopback
 * stand-in here).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_PATHS } from '../../../infra/host/paths.ts';
import { hostFiles } from '../../../infra/host/user-data.ts';
import { hostSettings } from './fixtures.ts';

const LIBRARY = fileURLToPath(new URL('../../../infra/host/ep-lib.sh', import.meta.url));
const SCRIPTS = ['ep-boot.sh', 'ep-watchdog.sh', 'ep-calibration-sync.sh'];

const dir = mkdtempSync(join(tmpdir(), 'ep-lib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hostEnv = join(dir, 'host.env');
writeFileSync(hostEnv, "EP_REGION='eu-west-1'\n");

/** A script named `name` beside a copy of the library, running `body` after sourcing it as the host scripts do. */
function probe(name: string, body: string): string {
  copyFileSync(LIBRARY, join(dir, 'ep-lib.sh'));
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/usr/bin/env bash\n. "$(dirname "\${BASH_SOURCE[0]}")/ep-lib.sh" || exit\n${body}\n`,
  );
  return path;
}

function run(path: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync('bash', [path], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, EP_HOST_ENV: hostEnv, ...env },
    encoding: 'utf8',
  });
}

describe('ep-lib.sh', () => {
  it('is written beside the scripts that source it, which look for it in their own directory', () => {
    const files = new Map(hostFiles(hostSettings()).map((f) => [f.path, f]));
    const library = files.get(HOST_PATHS.scriptLibrary);
    expect(library?.content).toBe(readFileSync(LIBRARY, 'utf8'));
    expect(library?.permissions).toBe('0644');
    expect(dirname(HOST_PATHS.scriptLibrary)).toBe(HOST_PATHS.binDir);
    for (const path of [
      HOST_PATHS.bootScript,
      HOST_PATHS.watchdogScript,
      HOST_PATHS.calibrationSyncScript,
    ]) {
      expect(dirname(path)).toBe(HOST_PATHS.binDir);
      const lines = files.get(path)!.content.split('\n');
      // The first command: nothing runs before strict mode.
      const first = lines.find((l) => l.trim() !== '' && !l.startsWith('#'));
      expect(first, path).toBe('. "$(dirname "${BASH_SOURCE[0]}")/ep-lib.sh" || exit');
      expect(lines, path).toContain('# shellcheck source-path=SCRIPTDIR source=ep-lib.sh');
    }
  });

  it.each(SCRIPTS)('%s stops at once, doing nothing, when the library is not beside it', (name) => {
    const alone = mkdtempSync(join(dir, 'alone-'));
    const script = join(alone, name);
    copyFileSync(fileURLToPath(new URL(`../../../infra/host/${name}`, import.meta.url)), script);
    // Every command a script might run first logs its call here instead.
    const calls = join(alone, 'calls.log');
    for (const c of ['curl', 'aws', 'systemctl', 'nvidia-smi', 'mkdir', 'chown', 'sleep'])
      writeFileSync(join(alone, c), `#!/bin/sh\necho ${c} >> '${calls}'\n`, { mode: 0o755 });
    const r = run(script, { PATH: `${alone}:${process.env.PATH}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ep-lib\.sh: No such file or directory/);
    expect(() => readFileSync(calls, 'utf8')).toThrow();
  });

  it('names the script in every log line', () => {
    const r = run(probe('ep-probe.sh', 'log "hello"; (log "from a subshell")'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('ep-probe: hello\nep-probe: from a subshell\n');
  });

  it('sets strict mode, down into command substitutions', () => {
    const unset = run(probe('ep-unset.sh', 'echo "$EP_NOT_SET"; echo after'));
    expect(unset.status).not.toBe(0);
    expect(unset.stdout).toBe('');
    const pipe = run(probe('ep-pipe.sh', 'false | cat; echo after'));
    expect(pipe.status).not.toBe(0);
    expect(pipe.stdout).toBe('');
    const sub = run(probe('ep-sub.sh', 'x=$(false; echo inside); echo "after $x"'));
    expect(sub.status).not.toBe(0);
    expect(sub.stdout).toBe('');
  });

  it('reads the settings from EP_HOST_ENV, and fails when there are none', () => {
    const script = probe('ep-env.sh', 'echo "$EP_REGION"');
    const r = run(script);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('eu-west-1\n');
    const missing = run(script, { EP_HOST_ENV: join(dir, 'no-such.env') });
    expect(missing.status).not.toBe(0);
    expect(missing.stdout).toBe('');
  });

  it('imds asks for an IMDSv2 session token, then GETs the metadata path with it', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        res.end(
          req.headers['x-aws-ec2-metadata-token-ttl-seconds'] === '300' ? 'session-token' : '',
        );
      } else if (req.headers['x-aws-ec2-metadata-token'] !== 'session-token') {
        res.writeHead(401).end();
      } else {
        res.end(req.url === '/latest/meta-data/instance-id' ? 'i-0abc' : 'eu-west-1');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const script = probe('ep-imds.sh', 'imds instance-id');
      const child = spawn('bash', [script], {
        env: { PATH: process.env.PATH, EP_HOST_ENV: hostEnv, EP_IMDS: `http://127.0.0.1:${port}` },
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      expect(out).toBe('i-0abc');
      expect(seen).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
