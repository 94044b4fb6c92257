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
import { loadReferenceCorpus } from '../../../controller/calibration/reference-corpus.ts';
import { asciiOnly, buildControllerBundle } from '../../../scripts/build-bundle.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';

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

describe('asciiOnly', () => {
  it('escapes non-ASCII characters without changing what the code means', () => {
    const source = [
      '// a dependency’s comment',
      'const s = "café ✓ 😀"; /* — */',
      'const re = /é+/;',
      'const t = `naïve`;',
      'const café = 1;\u2028return [s, re.test("éé"), t, café];',
    ].join('\n');
    const ascii = asciiOnly(source);
    expect([...ascii].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    const run = (code: string) => new Function(code)() as unknown;
    expect(run(ascii)).toEqual(['café ✓ 😀', true, 'naïve', 1]);
    expect(run(ascii)).toEqual(run(source));
  });
});

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

  it('carries the calibration reference corpus inside the one file', async () => {
    const entry = join(tmp, 'corpus-entry.ts');
    writeFileSync(
      entry,
      [
        `import { loadReferenceCorpus } from ${JSON.stringify(join(ROOT, 'controller/calibration/reference-corpus.ts'))};`,
        `const corpus = loadReferenceCorpus();`,
        `console.log(JSON.stringify({ texts: corpus.texts.length, sha256: corpus.sha256 }));`,
      ].join('\n'),
    );
    const outDir = join(tmp, 'corpus');
    const result = await buildControllerBundle({ entry, outFile: join(outDir, 'controller.mjs') });
    expect(readdirSync(outDir)).toEqual(['controller.mjs']);
    // Far from the repository: there is no corpus file to read, only the text inside the bundle.
    const copy = isolate(result.outFile, 'corpus');
    const r = spawnSync(process.execPath, [copy], { encoding: 'utf8', cwd: tmpdir() });
    rmSync(join(copy, '..'), { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const shipped = loadReferenceCorpus();
    expect(JSON.parse(r.stdout.trim())).toEqual({
      texts: shipped.texts.length,
      sha256: shipped.sha256,
    });
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

  it('bundles the real controller, which starts, answers /healthz and makes its own calibration', async () => {
    const result = await buildControllerBundle({ outFile: join(tmp, 'real', 'controller.mjs') });
    // ASCII only, so V8 holds the source one byte per character.
    expect(readFileSync(result.outFile).every((b) => b < 0x80)).toBe(true);
    const copy = isolate(result.outFile, 'controller');
    const backend = await startFakeVllm({ servedName: 'm', maxModelLen: 4096 });
    const config = join(tmp, 'config.json');
    const calibrationPath = join(tmp, 'calibration', 'calibration.json');
    writeFileSync(
      config,
      JSON.stringify({
        host: '127.0.0.1',
        port: 0,
        models: [{ name: 'm', backends: [backend.url] }],
        calibration: { makeIfMissing: true, maxTexts: 300 },
      }),
    );
    const child = spawn(process.execPath, [copy], {
      // As on a host: the container names the file's path at its mount point.
      env: {
        ...process.env,
        EP_CONFIG: config,
        EP_LOG_LEVEL: 'info',
        EP_CALIBRATION_PATH: calibrationPath,
      },
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
        child.on('exit', (code) =>
          reject(
            new Error(`controller exited with ${code}:
${out}`),
          ),
        );
      });
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      // The web pages were compiled into the bundle: no sources or node_modules beside it.
      for (const path of [
        '/',
        '/playground',
        '/assets/playground.js',
        '/assets/swagger-ui/swagger-ui-bundle.js',
      ]) {
        const page = await fetch(`${url}${path}`);
        expect(page.status, path).toBe(200);
        expect((await page.text()).length, path).toBeGreaterThan(100);
      }
      // The reference corpus inside the bundle, scored through the backend, makes the file.
      let state = '';
      for (let i = 0; i < 300 && state !== 'loaded'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = ((await (await fetch(`${url}/v1/calibration`)).json()) as { state: string }).state;
      }
      expect(state).toBe('loaded');
      const made = JSON.parse(readFileSync(calibrationPath, 'utf8'));
      expect(made.corpus.sha256).toBe(loadReferenceCorpus().sha256);
      expect(made.models.map((m: { name: string }) => m.name)).toEqual(['m']);
    } finally {
      await backend.close();
      child.kill('SIGTERM');
      rmSync(join(copy, '..'), { recursive: true, force: true });
    }
  });
});
