/**
 * scripts/build-bundle.ts: one self-contained ES module that starts with a bare `node`, no node_modules.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildControllerBundle } from '../../../scripts/build-bundle.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ep-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Static import specifiers of an ES module (the bundle's top level). */
function importSpecifiers(code: string): string[] {
  return [...code.matchAll(/^import\s[^'"]*['"]([^'"]+)['"];?$/gm)].map((m) => m[1] as string);
}

/** Copies a bundle into an empty directory, far from any node_modules. */
function isolate(file: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ep-isolated-${name}-`));
  const copy = join(dir, 'bundle.mjs');
  copyFileSync(file, copy);
  return copy;
}

describe('buildControllerBundle', () => {
  it('bundles an entry and its CommonJS dependencies into one file that runs without node_modules', async () => {
    const entry = join(tmp, 'fixture-entry.ts');
    writeFileSync(
      entry,
      [
        `import { parseConfig } from ${JSON.stringify(join(ROOT, 'controller/config.ts'))};`,
        // pino is CommonJS and calls require(): the banner's createRequire must make that work.
        `import pino from 'pino';`,
        `const config = parseConfig({ models: [{ name: 'phi-2', backends: ['http://127.0.0.1:8003'] }] });`,
        `pino({ base: null, timestamp: false }).info({ port: config.port, models: config.models.map((m) => m.name) }, 'fixture ok');`,
      ].join('\n'),
    );
    const outDir = join(tmp, 'out');
    const result = await buildControllerBundle({ entry, outFile: join(outDir, 'controller.mjs') });
    expect(readdirSync(outDir)).toEqual(['controller.mjs']);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    const code = readFileSync(result.outFile, 'utf8');
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    expect(importSpecifiers(code).filter((s) => !builtins.has(s))).toEqual([]);

    const copy = isolate(result.outFile, 'fixture');
    const r = spawnSync(process.execPath, [copy], { encoding: 'utf8', cwd: tmpdir() });
    rmSync(join(copy, '..'), { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({
      level: 30,
      port: 8000,
      models: ['phi-2'],
      msg: 'fixture ok',
    });
  });

  it('carries the parse worker inside the one file: answers are read in a worker thread', async () => {
    const entry = join(tmp, 'parse-entry.ts');
    writeFileSync(
      entry,
      [
        `import { ParsePool } from ${JSON.stringify(join(ROOT, 'controller/backends/parse-pool.ts'))};`,
        `const pool = new ParsePool({ threads: 1, minWorkerBytes: 0 });`,
        `const body = '{"choices":[{"index":0,"prompt_token_ids":[1,42],"prompt_logprobs":[null,{"42":{"logprob":-0.5,"rank":1,"decoded_token":"a"}}]}]}';`,
        `const out = await pool.parse(Buffer.from(body), 1);`,
        `console.log(JSON.stringify({ ids: Array.from(out.choices[0].ids), lp: out.choices[0].logprobs[1], threads: pool.size }));`,
        `await pool.close();`,
      ].join('\n'),
    );
    const result = await buildControllerBundle({
      entry,
      outFile: join(tmp, 'parse', 'controller.mjs'),
    });
    const copy = isolate(result.outFile, 'parse');
    const r = spawnSync(process.execPath, [copy], { encoding: 'utf8', cwd: tmpdir() });
    rmSync(join(copy, '..'), { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ ids: [1, 42], lp: -0.5, threads: 1 });
  });

  it('reports the sha256 the host checks', async () => {
    const entry = join(tmp, 'tiny.ts');
    writeFileSync(entry, 'console.log("tiny");\n');
    const a = await buildControllerBundle({ entry, outFile: join(tmp, 'tiny.mjs') });
    const again = await buildControllerBundle({ entry, outFile: join(tmp, 'tiny-again.mjs') });
    expect(a.sha256).toBe(again.sha256);
    const sum = spawnSync('sha256sum', [a.outFile], { encoding: 'utf8' }).stdout.split(' ')[0];
    expect(sum).toBe(a.sha256);
  });

  it('bundles the real controller, which starts and answers /healthz', async () => {
    const result = await buildControllerBundle({ outFile: join(tmp, 'real', 'controller.mjs') });
    const copy = isolate(result.outFile, 'controller');
    const config = join(tmp, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        host: '127.0.0.1',
        port: 0,
        models: [{ name: 'm', backends: ['http://127.0.0.1:9'] }],
      }),
    );
    const child = spawn(process.execPath, [copy], {
      env: { ...process.env, EP_CONFIG: config, EP_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(
          () => reject(new Error(`no "listening" log in 20 s:\n${out}`)),
          20_000,
        );
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('exit', (code) => reject(new Error(`controller exited with ${code}:\n${out}`)));
      });
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      rmSync(join(copy, '..'), { recursive: true, force: true });
    }
  });
});
