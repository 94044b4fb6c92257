import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

const run = promisify(execFile);

/** The README's first TypeScript example (plain JavaScript too), so the README cannot drift from the package. */
async function readmeFirstCall(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('## Use from TypeScript')[1]?.split('\n## ')[0] ?? '';
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README's 'Use from TypeScript' has no ts example");
  return block;
}
const ROOT = resolve(import.meta.dirname, '../../..');
const PACKAGE_DIR = join(ROOT, 'clients/typescript');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** What a user writes first: whole and streamed scoring, typed errors. */
const USE_MJS = `
import { ApiResponseError, EnsembledPerplexityClient, isSummaryLine } from '@ensembled-perplexity/client';
const client = new EnsembledPerplexityClient({ baseUrl: process.argv[2] });
const { results } = await client.perplexity({ texts: ['The cat sat on the mat.', ''] });
const streamed = [];
for await (const line of client.perplexityStream({ texts: ['one text', 'another text'] })) {
  if (!isSummaryLine(line)) streamed.push(line.index);
}
const many = [];
for await (const outcome of client.scoreMany(['a b c', 'd e f', 'g h i'], { batch: 2 })) many.push(outcome);
let error;
try {
  await client.perplexity({ texts: ['x'], models: ['no-such-model'] });
} catch (err) {
  error = err instanceof ApiResponseError ? { status: err.status, type: err.type, param: err.param } : String(err);
}
await client.close();
console.log(JSON.stringify({ perplexity: results[0].ensemble.perplexity, textError: results[1].error.type, streamed: streamed.sort(), many: many.length, error }));
`;

/** The same through tsc with NodeNext: the package's own .d.ts must type-check and type the calls. */
const USE_TS = `
import { EnsembledPerplexityClient, type TextResult } from '@ensembled-perplexity/client';
const client = new EnsembledPerplexityClient({ baseUrl: 'http://127.0.0.1:9', retry: { retries: 1 } });
export async function first(): Promise<number | undefined> {
  const { results } = await client.perplexity({ texts: ['hi'], details: ['tokens', 'spans'], flag_fpr: 0.01 });
  const result: TextResult | undefined = results[0];
  return result?.ensemble?.max_window?.percentile ?? result?.ensemble?.perplexity;
}
// @ts-expect-error texts must be a list: the types are real, not any
void client.perplexity({ texts: 'one' });
`;

describe('@ensembled-perplexity/client as an installed package', () => {
  let vllm: FakeVllm;
  let controller: RunningController;
  let dir: string;

  beforeAll(async () => {
    vllm = await startFakeVllm({ servedName: 'a' });
    controller = await startTestController({ models: [{ name: 'a', backends: [vllm.url] }] });
    dir = await mkdtemp(join(tmpdir(), 'ep-client-pack-'));
  });
  afterAll(async () => {
    await controller?.close();
    await vllm?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs, installs offline into an empty project, and works from plain node and from tsc (NodeNext)', async () => {
    const packs = join(dir, 'packs');
    const project = join(dir, 'project');
    await run('mkdir', ['-p', packs, project]);
    // Building is part of packing (prepack), so the tarball holds the JavaScript and .d.ts a user gets.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs], {
      cwd: PACKAGE_DIR,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path).sort();
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // The one runtime dependency comes from the local copy: no registry is reachable in tests.
    const undici = JSON.parse(
      (
        await run('npm', [
          'pack',
          '--json',
          '--ignore-scripts',
          '--pack-destination',
          packs,
          join(ROOT, 'node_modules/undici'),
        ])
      ).stdout,
    )[0].filename as string;

    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true, type: 'module' }),
    );
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        join(packs, packed!.filename),
        join(packs, undici),
      ],
      { cwd: project },
    );
    const installed = await readdir(join(project, 'node_modules'));
    expect(installed.filter((d) => !d.startsWith('.')).sort()).toEqual([
      '@ensembled-perplexity',
      'undici',
    ]);
    for (const serverDep of ['hono', 'zod', 'cdktf', '@cdktf', 'pino', '@aws-sdk']) {
      expect(installed).not.toContain(serverDep);
    }

    await writeFile(join(project, 'use.mjs'), USE_MJS);
    const used = await run(process.execPath, ['use.mjs', controller.url], { cwd: project });
    expect(JSON.parse(used.stdout)).toEqual({
      perplexity: expect.any(Number),
      textError: 'empty_text',
      streamed: [0, 1],
      many: 3,
      error: { status: 404, type: 'model_not_found', param: 'models[0]' },
    });

    await writeFile(join(project, 'readme.mjs'), await readmeFirstCall());
    const readmeRun = await run(process.execPath, ['readme.mjs'], {
      cwd: project,
      env: { ...process.env, EP_URL: controller.url },
    });
    expect(Number(readmeRun.stdout)).toBeGreaterThan(1);

    await writeFile(join(project, 'use.ts'), USE_TS);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['use.ts'],
      }),
    );
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).catch(
      (err: { stdout: string }) => err,
    );
    expect(tsc.stdout).toBe('');
    const pkg = JSON.parse(
      await readFile(
        join(project, 'node_modules/@ensembled-perplexity/client/package.json'),
        'utf8',
      ),
    );
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['undici']);
  }, 120_000);
});
