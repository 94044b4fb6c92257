import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { parseInputLine, runScore } from '../../scripts/score.ts';
import { countLines, keepCompleteLines } from '../../scripts/lib/score-files.ts';
import { startTestController } from '../helpers/controller.ts';
import { startFakeVllm } from '../helpers/fake-vllm.ts';
import type { FakeVllm } from '../helpers/fake-vllm.ts';

const LINES = 10_000;

/** Input with every kind of line: strings, objects with ids, and a few bad ones. */
function inputLine(i: number): string {
  if (i === 17) return '{"text": 42}';
  if (i === 4321) return 'not json at all';
  if (i === 9000) return '';
  if (i === 777) return JSON.stringify({ id: 'too-long', text: 'y'.repeat(700) });
  if (i === 5000) return JSON.stringify('');
  if (i % 3 === 0) return JSON.stringify(`plain text number ${i}, with some words`);
  return JSON.stringify({
    id: `doc-${i}`,
    lang: 'en',
    text: `object text ${i} about ${i % 13} cats`,
  });
}

describe('npm run score', () => {
  let a: FakeVllm;
  let b: FakeVllm;
  let controller: RunningController;
  let dir: string;
  let input: string;

  beforeAll(async () => {
    a = await startFakeVllm({ servedName: 'a' });
    b = await startFakeVllm({ servedName: 'b', addsBos: false });
    controller = await startTestController({
      models: [
        { name: 'a', backends: [a.url] },
        { name: 'b', backends: [b.url] },
      ],
      limits: { maxCharsPerText: 500 },
      // No cache: a resumed run that re-scored finished lines would show up as backend calls.
      cache: { maxBytes: 0 },
    });
    dir = await mkdtemp(join(tmpdir(), 'ep-score-'));
    input = join(dir, 'texts.jsonl');
    await writeFile(input, Array.from({ length: LINES }, (_, i) => inputLine(i)).join('\n') + '\n');
  });
  afterAll(async () => {
    await controller?.close();
    await a?.close();
    await b?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const promptsSent = (f: FakeVllm) =>
    f.completions.reduce((n, c) => n + (c.body.prompt as unknown[]).length, 0);

  it('scores 10k lines in input order, one output line per input line, errors on their line', async () => {
    const out = join(dir, 'full.jsonl');
    const summary = await runScore({
      inPath: input,
      outPath: out,
      url: controller.url,
      batch: 256,
      concurrency: 4,
      progress: false,
    });
    console.info(`score CLI: ${LINES} lines in ${summary.seconds.toFixed(2)} s`);
    expect(summary).toMatchObject({
      total: LINES,
      skipped: 0,
      written: LINES,
      invalid: 3,
      interrupted: false,
    });
    expect(summary.textErrors).toBe(2);
    const lines = (await readFile(out, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(LINES);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[1]).toMatchObject({ id: 'doc-1', lang: 'en' });
    expect(parsed[1]).not.toHaveProperty('text');
    expect(parsed[1].ensemble.models_used).toEqual(['a', 'b']);
    expect(parsed[3].ensemble).toBeDefined();
    expect(parsed[3]).not.toHaveProperty('index');
    expect(parsed[17].error.type).toBe('invalid_input');
    expect(parsed[4321].error.type).toBe('invalid_input');
    expect(parsed[9000].error.message).toBe('empty line');
    expect(parsed[777]).toMatchObject({ id: 'too-long', error: { type: 'invalid_request' } });
    expect(parsed[5000].error.type).toBe('empty_text');
    // Input order: each object line carries its own id back.
    for (let i = 1; i < LINES; i += 997) {
      if (parsed[i].id !== undefined && i !== 777) expect(parsed[i].id).toBe(`doc-${i}`);
    }
  });

  it('resumes an interrupted run without re-scoring, and ends with the same file as an uninterrupted run', async () => {
    const full = await readFile(join(dir, 'full.jsonl'), 'utf8');
    const out = join(dir, 'resumed.jsonl');
    const stop = new AbortController();
    const first = await runScore({
      inPath: input,
      outPath: out,
      url: controller.url,
      batch: 128,
      concurrency: 3,
      progress: false,
      signal: stop.signal,
      onLines: (done) => {
        if (done >= 3000) stop.abort(new Error('test interrupt'));
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.written).toBeGreaterThanOrEqual(3000);
    expect(first.written).toBeLessThan(LINES);
    // A crash in the middle of a write leaves half a line behind.
    await appendFile(out, '{"ensemble": {"perplex');

    const sentBefore = promptsSent(a);
    const second = await runScore({
      inPath: input,
      outPath: out,
      url: controller.url,
      resume: true,
      progress: false,
    });
    expect(second.skipped).toBe(first.written);
    expect(second.written).toBe(LINES - first.written);
    expect(await readFile(out, 'utf8')).toBe(full);
    // Only the remaining lines reached the backend (minus the lines that never reach it: 3 invalid, 1 too long, 1 empty).
    expect(promptsSent(a) - sentBefore).toBeLessThanOrEqual(LINES - first.written);
    expect(promptsSent(a) - sentBefore).toBeGreaterThanOrEqual(LINES - first.written - 5);
  });

  it('resuming a finished run writes nothing', async () => {
    const out = join(dir, 'full.jsonl');
    const before = await readFile(out, 'utf8');
    const summary = await runScore({
      inPath: input,
      outPath: out,
      url: controller.url,
      resume: true,
      progress: false,
    });
    expect(summary).toMatchObject({ skipped: LINES, written: 0 });
    expect(await readFile(out, 'utf8')).toBe(before);
  });
});

describe('score file helpers', () => {
  it('counts lines with and without a final newline and keeps only complete lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ep-score-files-'));
    try {
      const f = join(dir, 'x.jsonl');
      await writeFile(f, 'a\nb\nc');
      expect(await countLines(f)).toBe(3);
      await writeFile(f, 'a\nb\n');
      expect(await countLines(f)).toBe(2);
      await writeFile(f, '{"x":1}\n{"y":2}\n{"z"');
      expect(await keepCompleteLines(f)).toBe(2);
      expect(await readFile(f, 'utf8')).toBe('{"x":1}\n{"y":2}\n');
      expect(await keepCompleteLines(join(dir, 'missing.jsonl'))).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads strings, objects with text, and names what is wrong with anything else', () => {
    expect(parseInputLine('"hi"')).toEqual({ text: 'hi', extra: {} });
    expect(parseInputLine('{"id":1,"text":"hi"}')).toEqual({ text: 'hi', extra: { id: 1 } });
    expect(parseInputLine('[1]').invalid).toMatch(/text/);
    expect(parseInputLine('{').invalid).toMatch(/not JSON/);
    expect(parseInputLine('   ').invalid).toBe('empty line');
  });
});
