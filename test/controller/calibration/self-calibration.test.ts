/**
 * A controller with `calibration.makeIfMissing` makes its own calibration through its own models (scripted
 * local-lm backends), in-process: the file is written, put in force and shown at `GET /v1/calibration`; a file
 * made for other models is replaced; a failed attempt is retried a bounded number of times.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCalibration } from '../../../controller/calibration/build-calibration.ts';
import { SelfCalibration } from '../../../controller/calibration/self-calibration.ts';
import type { RunningController } from '../../../controller/main.ts';
import type { CalibrationSample } from '../../../controller/scoring/text-surprisal.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm, type FakeVllm } from '../../helpers/fake-vllm.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

/** Enough fit texts for every length bucket to get its 20 (the corpus has few texts over 2,560 bytes). */
const MAX_TEXTS = 300;

let backends: FakeVllm[] = [];
const controllers: RunningController[] = [];

beforeAll(async () => {
  backends = await Promise.all(
    ['alpha', 'beta'].map((servedName) => startFakeVllm({ servedName, maxModelLen: 4096 })),
  );
});
afterAll(async () => {
  await Promise.all(controllers.map((c) => c.close()));
  await Promise.all(backends.map((b) => b.close()));
});

async function start(path: string, extra: Record<string, unknown> = {}) {
  const c = await startTestController({
    models: backends.map((b, i) => ({ name: ['alpha', 'beta'][i]!, backends: [b.url] })),
    calibration: { path, makeIfMissing: true, maxTexts: MAX_TEXTS, ...extra },
  });
  controllers.push(c);
  return c;
}

async function calibrationOf(c: RunningController) {
  return (await (await fetch(`${c.url}/v1/calibration`)).json()) as any;
}

/** Polls `GET /v1/calibration` until it is loaded; returns every state seen on the way. */
async function untilLoaded(c: RunningController, timeoutMs = 120_000) {
  const seen = new Set<string>();
  let making: any;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await calibrationOf(c);
    seen.add(body.state);
    if (body.state === 'making') making ??= body;
    if (body.state === 'loaded') return { body, seen, making };
    if (Date.now() > deadline) throw new Error(`not loaded: ${JSON.stringify(body).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A valid calibration file made for a model set these backends do not serve. */
function fileForOtherModels() {
  const fingerprint = {
    served_name: 'gamma',
    max_model_len: 512,
    prefix_token_id: 1,
    golden_nll_per_token: 2,
  };
  const samples: CalibrationSample[] = [];
  for (const bytes of [10, 200, 1000, 3000])
    for (let i = 0; i < 25; i++)
      samples.push({
        bytes,
        models: { gamma: { bits_per_byte: 1 + i / 25, max_window: [2 + i / 25] } },
        ensemble_max_window: [2 + i / 25],
      });
  return buildCalibration({
    samples,
    models: [{ name: 'gamma', ...fingerprint, weight: 1 }],
    windowChars: [64],
    corpus: { name: 't', version: '1', sha256: '0', texts: 100, split: 'fit' },
  });
}

describe('controller self-calibration (calibration.makeIfMissing)', () => {
  it('makes the file once every model is ready, writes it whole, puts it in force and shows it', async () => {
    const dir = tempDir('ep-selfcal-');
    const path = join(dir, 'cal', 'calibration.json');
    const c = await start(path);
    const { body, making } = await untilLoaded(c);
    // While it works: the state says so, with its progress.
    expect(making.message).toMatch(
      /making a calibration from the reference corpus: \d+ of 300 texts scored/,
    );
    expect(making.self_calibration).toMatchObject({
      state: 'making',
      attempts: 1,
      texts_total: 300,
    });
    expect(body.calibration.corpus.name).toBe('ep-reference-en');
    expect(body.calibration.corpus.texts).toBeGreaterThan(0);
    expect(body.calibration.corpus.texts).toBeLessThanOrEqual(MAX_TEXTS);
    expect(body.calibration.models.map((m: any) => m.name)).toEqual(['alpha', 'beta']);
    expect(body.self_calibration).toMatchObject({ state: 'idle', attempts: 1 });
    expect(body.self_calibration.texts_done).toBeUndefined();
    // The file on disk is the one in force; no partial file is left.
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    expect(onDisk.created_at).toBe(body.calibration.created_at);
    expect(readdirSync(join(dir, 'cal'))).toEqual(['calibration.json']);
    // The calibration's texts were never stored in the result cache.
    expect(c.registry.cache.stats.entries).toBe(0);
    // Deleting the file asks for a fresh one, though a calibration is still in force meanwhile.
    const first = body.calibration.created_at;
    rmSync(path);
    await c.selfCalibration?.check();
    const again = await calibrationOf(c);
    expect(again.state).toBe('loaded');
    expect(again.calibration.created_at).not.toBe(first);
    expect(JSON.parse(readFileSync(path, 'utf8')).created_at).toBe(again.calibration.created_at);
    expect(again.self_calibration).toMatchObject({ state: 'idle', attempts: 2 });
    // Percentiles now come with every result.
    const res = await fetch(`${c.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['The committee met on Tuesday to review the budget.'] }),
    });
    const scored = (await res.json()) as any;
    expect(scored.results[0].ensemble.percentile).toBeGreaterThanOrEqual(0);
    await c.close();
  }, 180_000);

  it('replaces a file made for other models, and leaves a good one alone on the next start', async () => {
    const dir = tempDir('ep-selfcal-');
    const path = join(dir, 'calibration.json');
    writeFileSync(path, JSON.stringify(fileForOtherModels()));
    const c = await start(path);
    const { body, making } = await untilLoaded(c);
    expect(making.message).toMatch(/making a calibration .*\(calibration refused: /);
    expect(body.calibration.models.map((m: any) => m.name)).toEqual(['alpha', 'beta']);
    expect(JSON.parse(readFileSync(path, 'utf8')).models[0].name).toBe('alpha');
    await c.close();

    const made = readFileSync(path, 'utf8');
    const again = await start(path);
    const second = await untilLoaded(again);
    expect(second.body.self_calibration).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe(made);
    await again.close();
  }, 240_000);

  it('logs a failed attempt, retries after a pause and gives up after maxAttempts; the controller keeps serving', async () => {
    const dir = tempDir('ep-selfcal-');
    const path = join(dir, 'calibration.json');
    // Without makeIfMissing: the test drives its own SelfCalibration.
    const c = await startTestController({
      models: backends.map((b, i) => ({ name: ['alpha', 'beta'][i]!, backends: [b.url] })),
      calibration: { path },
    });
    controllers.push(c);
    const lines: any[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const maker = new SelfCalibration({
      path,
      source: c.calibration,
      registry: c.registry,
      logger,
      // Too few texts to fill every length bucket: each attempt fails, quickly.
      maxTexts: 12,
      retryMs: 20,
      maxAttempts: 2,
    });
    for (let i = 0; i < 100 && c.registry.readyModels().length < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    await maker.check();
    expect(maker.status).toMatchObject({ state: 'waiting', attempts: 1 });
    expect(maker.status.lastError).toMatch(/length bucket \d has \d+ reference texts/);
    expect(lines.some((l) => l.msg === 'could not make a calibration; trying again later')).toBe(
      true,
    );
    // Not before the pause is over.
    expect(maker.check()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 30));
    await maker.check();
    expect(maker.status).toMatchObject({ state: 'gave_up', attempts: 2 });
    expect(maker.check()).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);
    const health = await fetch(`${c.url}/healthz`);
    expect(health.status).toBe(200);
    await maker.stop();
  }, 60_000);

  it('succeeds on a later attempt once the cause of the failure is gone', async () => {
    const dir = tempDir('ep-selfcal-');
    // A file where the directory should be: the first attempt cannot write.
    writeFileSync(join(dir, 'blocked'), '');
    const path = join(dir, 'blocked', 'calibration.json');
    const c = await startTestController({
      models: backends.map((b, i) => ({ name: ['alpha', 'beta'][i]!, backends: [b.url] })),
      calibration: { path },
    });
    controllers.push(c);
    const maker = new SelfCalibration({
      path,
      source: c.calibration,
      registry: c.registry,
      logger: pino({ level: 'silent' }),
      maxTexts: MAX_TEXTS,
      retryMs: 1,
    });
    for (let i = 0; i < 100 && c.registry.readyModels().length < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    await maker.check();
    expect(maker.status).toMatchObject({ state: 'waiting', attempts: 1 });
    expect(maker.status.lastError).toMatch(/ENOTDIR|EEXIST|not a directory/);
    rmSync(join(dir, 'blocked'));
    await new Promise((r) => setTimeout(r, 5));
    await maker.check();
    expect(maker.status).toMatchObject({ state: 'idle', attempts: 2 });
    expect(c.calibration.status.state).toBe('loaded');
    await maker.stop();
  }, 60_000);
});
