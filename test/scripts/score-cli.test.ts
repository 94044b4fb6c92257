/**
 * The score CLI as a user runs it: help, the messages for a missing key and an unreachable server, results and
 * progress that show up while a batch is still running, and Ctrl-C keeping what finished.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { runScore } from '../../scripts/score.ts';
import { startTestController } from '../helpers/controller.ts';
import { startFakeVllm } from '../helpers/fake-vllm.ts';
import type { FakeVllm } from '../helpers/fake-vllm.ts';
import { writeKeyStoreFile } from '../helpers/key-store-file.ts';

const ROOT = resolve(import.meta.dirname, '../..');

interface Cli {
  code: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Cli {
  const { EP_API_KEY: _key, EP_URL: _url, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/score.ts', ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return {
    code: new Promise((done) =>
      child.once('exit', (code, signal) => done(code ?? (signal ? -1 : null))),
    ),
    output: () => output,
    kill: (signal) => child.kill(signal),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

describe('score CLI', () => {
  let slow: FakeVllm;
  let open: RunningController;
  let guarded: RunningController;
  let key: string;
  let dir: string;
  let input: string;
  const LINES = 300;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ep-score-cli-'));
    // Slow enough that one batch of 256 takes seconds: 4 prompts per backend call, 40 ms each.
    slow = await startFakeVllm({ servedName: 'a', delayMs: 40 });
    // No result cache: every run pays the backend again, so a second run is as slow as the first.
    const limits = {
      scheduler: { maxBatchPrompts: 4, maxInflightPerBackend: 1 },
      cache: { maxBytes: 0 },
    };
    open = await startTestController({ models: [{ name: 'a', backends: [slow.url] }], ...limits });
    const { store, keys } = writeKeyStoreFile(dir);
    key = keys[0]!.key;
    guarded = await startTestController({
      models: [{ name: 'a', backends: [slow.url] }],
      auth: { store },
    });
    input = join(dir, 'texts.jsonl');
    await writeFile(
      input,
      Array.from({ length: LINES }, (_, i) =>
        JSON.stringify({ id: i, text: `line ${i} of the file` }),
      ).join('\n') + '\n',
    );
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    await slow?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--help prints the usage with every option and exits 0', async () => {
    const run = cli(['--help']);
    expect(await run.code).toBe(0);
    for (const option of [
      '--in',
      '--out',
      '--url',
      '--key',
      'EP_API_KEY',
      '--timeout-ms',
      '--retries',
      '--resume',
    ]) {
      expect(run.output()).toContain(option);
    }
  });

  it('a missing option prints what is wrong and the usage, exit 2', async () => {
    const run = cli(['--in', input]);
    expect(await run.code).toBe(2);
    expect(run.output()).toMatch(/--in and --out are required[\s\S]*--timeout-ms/);
  });

  it('a server that wants a key and got none says to set EP_API_KEY', async () => {
    const run = cli(['--in', input, '--out', join(dir, 'nokey.jsonl'), '--url', guarded.url]);
    expect(await run.code).toBe(1);
    expect(run.output()).toContain('set EP_API_KEY');
    expect(run.output()).toContain(guarded.url);
  });

  it('a wrong key is named as such', async () => {
    const run = cli(['--in', input, '--out', join(dir, 'badkey.jsonl'), '--url', guarded.url], {
      EP_API_KEY: `${key.slice(0, -2)}xx`,
    });
    expect(await run.code).toBe(1);
    expect(run.output()).toMatch(/refused the API key/);
  });

  it('an unreachable server fails fast, naming the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const run = cli(['--in', input, '--out', join(dir, 'unreachable.jsonl'), '--url', url]);
    expect(await run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.output()).toContain(`cannot reach ${url}`);
  });

  it('writes results in input order while a batch of 256 is still running', async () => {
    const out = join(dir, 'progressive.jsonl');
    const started = performance.now();
    let firstAt: number | undefined;
    const summary = await runScore({
      inPath: input,
      outPath: out,
      url: open.url,
      batch: 256,
      concurrency: 1,
      progress: false,
      onLines: () => (firstAt ??= performance.now() - started),
    });
    const total = performance.now() - started;
    console.info(`score CLI: first line after ${firstAt?.toFixed(0)} ms of ${total.toFixed(0)} ms`);
    expect(summary.written).toBe(LINES);
    expect(firstAt).toBeDefined();
    expect(firstAt as number).toBeLessThan(total / 3);
    const written = (await lines(out)).map((l) => JSON.parse(l));
    expect(written.map((l) => l.id)).toEqual(Array.from({ length: LINES }, (_, i) => i));
  });

  it('shows progress within seconds, and Ctrl-C keeps every finished line for --resume', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const run = cli([
      '--in',
      input,
      '--out',
      out,
      '--url',
      open.url,
      '--batch',
      '256',
      '--concurrency',
      '1',
    ]);
    await until(async () => (await lines(out)).length >= 20, 20_000);
    expect(run.output()).toMatch(/score: .*[1-9]\d*\/300 lines/);
    run.kill('SIGINT');
    expect(await run.code).toBe(130);
    const kept = (await lines(out)).map((l) => JSON.parse(l));
    expect(kept.length).toBeGreaterThanOrEqual(20);
    expect(kept.length).toBeLessThan(LINES);
    expect(kept.map((l) => l.id)).toEqual(Array.from({ length: kept.length }, (_, i) => i));
    expect(kept.every((l) => l.ensemble?.perplexity > 0)).toBe(true);
    expect(run.output()).toContain('rerun with --resume');

    const resumed = cli(['--in', input, '--out', out, '--url', open.url, '--resume']);
    expect(await resumed.code).toBe(0);
    const all = (await lines(out)).map((l) => JSON.parse(l));
    expect(all.map((l) => l.id)).toEqual(Array.from({ length: LINES }, (_, i) => i));
  }, 60_000);
});
