/**
 * `npm run calibrate` (scripts/calibrate.ts) makes a file over HTTP against any endpoint; a controller with
 * `calibration.makeIfMissing` makes one in-process. Both run one implementation, so against the same models they
 * make the same file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { main } from '../../scripts/calibrate.ts';
import { startTestController } from '../helpers/controller.ts';
import { startFakeVllm, type FakeVllm } from '../helpers/fake-vllm.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let backends: FakeVllm[] = [];
let controller: RunningController | undefined;
afterAll(async () => {
  await controller?.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('npm run calibrate', () => {
  it('makes over HTTP the same file the controller makes of itself', async () => {
    backends = await Promise.all(
      ['alpha', 'beta'].map((servedName) => startFakeVllm({ servedName, maxModelLen: 4096 })),
    );
    const dir = tempDir('ep-calibrate-');
    const own = join(dir, 'own.json');
    controller = await startTestController({
      models: backends.map((b, i) => ({ name: ['alpha', 'beta'][i]!, backends: [b.url] })),
      calibration: { path: own, makeIfMissing: true, maxTexts: 300 },
    });
    for (let i = 0; i < 600 && controller.calibration.status.state !== 'loaded'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(controller.calibration.status.state).toBe('loaded');

    const out = join(dir, 'http.json');
    await main(['--url', controller.url, '--out', out, '--max-texts', '300']);
    const { created_at: a, ...overHttp } = JSON.parse(readFileSync(out, 'utf8'));
    const { created_at: b, ...inProcess } = JSON.parse(readFileSync(own, 'utf8'));
    expect(a).not.toBe(b);
    expect(overHttp.corpus.texts).toBeGreaterThan(200);
    expect(overHttp).toEqual(inProcess);
  }, 120_000);
});
