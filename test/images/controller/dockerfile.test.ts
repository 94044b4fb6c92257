/**
 * images/controller/Dockerfile, checked without Docker: its structure, the files it copies, and its
 * HEALTHCHECK command run for real against a server that is healthy, then unhealthy.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(join(ROOT, 'images/controller/Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped. */
const instructions = text
  .replace(/\\\n\s*/g, '')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'))
  .map((l) => {
    const [op, ...rest] = l.trim().split(/\s+/);
    return { op: (op as string).toUpperCase(), args: rest.join(' ') };
  });

const stages = instructions.filter((i) => i.op === 'FROM');
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

describe('images/controller/Dockerfile', () => {
  it('builds the bundle in one stage and runs it alone in a slim Node stage', () => {
    expect(stages.map((s) => s.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:22-slim$/m);
    expect(
      instructions.some((i) => i.op === 'RUN' && i.args.includes('scripts/build-bundle.ts')),
    ).toBe(true);
    expect(runtime.filter((i) => i.op === 'COPY').map((i) => i.args)).toEqual([
      '--from=build /out/controller.mjs /app/controller.mjs',
    ]);
    expect(runtime.find((i) => i.op === 'CMD')?.args).toBe('["node", "/app/controller.mjs"]');
  });

  it('runs as a non-root user, exposes the port and sets EP_CONFIG', () => {
    expect(runtime.find((i) => i.op === 'USER')?.args).toBe('node');
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe('8000');
    expect(runtime.find((i) => i.op === 'ENV')?.args).toContain('EP_CONFIG=/etc/ep/config.json');
  });

  it('copies only files that exist in the repository', () => {
    const sources = instructions
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(existsSync(join(ROOT, s)), s).toBe(true);
  });

  it('copies every local module the bundle build imports (the web assets compile at build time)', () => {
    const copied = instructions
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args.split(' ').slice(0, -1))
      .flat()
      .map((s) => s.replace(/\/$/, ''));
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(join(ROOT, file), 'utf8');
      for (const m of code.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+\.ts)'/g))
        visit(relative(ROOT, resolve(dirname(join(ROOT, file)), m[1] as string)));
    };
    visit('scripts/build-bundle.ts');
    expect(seen.size).toBeGreaterThan(3);
    for (const file of seen)
      expect(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `${file} is not copied into the build stage`,
      ).toBe(true);
  });

  it('has a HEALTHCHECK on /healthz that passes on 200 and fails otherwise', async () => {
    const hc = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const argv = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'ep-healthcheck-'));
    try {
      const config = join(dir, 'config.json');
      writeFileSync(config, JSON.stringify({ port: (server.address() as AddressInfo).port }));
      // Async: the test's own server must keep answering while the check runs.
      const check = () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, argv.slice(1), {
            env: { ...process.env, EP_CONFIG: config },
          });
          child.on('exit', resolve);
        });
      expect(await check()).toBe(0);
      status = 503;
      expect(await check()).toBe(1);
      expect(paths).toEqual(['/healthz', '/healthz']);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
