import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildCalibration } from '../../../controller/calibration/build-calibration.ts';
import { CalibrationSource } from '../../../controller/calibration/calibration-source.ts';
import type { ModelFingerprint } from '../../../controller/calibration/model-set.ts';
import type { CalibrationSample } from '../../../controller/scoring/text-surprisal.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const A: ModelFingerprint = {
  name: 'a',
  served_name: 'a',
  max_model_len: 512,
  prefix_token_id: 1,
  golden_nll_per_token: 2,
};

function file(models: ModelFingerprint[]) {
  const samples: CalibrationSample[] = [];
  for (const bytes of [10, 200, 1000, 3000])
    for (let i = 0; i < 25; i++)
      samples.push({
        bytes,
        models: Object.fromEntries(
          models.map((m) => [m.name, { bits_per_byte: 1 + i / 25, max_window: [2 + i / 25] }]),
        ),
        ensemble_max_window: [2 + i / 25],
      });
  return buildCalibration({
    samples,
    models: models.map((m) => ({ ...m, weight: 1 })),
    windowChars: [64],
    corpus: { name: 't', version: '1', sha256: '0', texts: 100, split: 'fit' },
  });
}

describe('CalibrationSource', () => {
  const logger = pino({ level: 'silent' });

  it('waits for the models, then loads the file; refuses one made for other models and keeps the last good one', async () => {
    const dir = tempDir('ep-cal-');
    const path = join(dir, 'calibration.json');
    let models: ModelFingerprint[] | null = null;
    const source = new CalibrationSource({
      path,
      reloadMs: 60_000,
      fingerprints: () => models,
      logger,
    });
    await source.refresh();
    expect(source.status.state).toBe('none');

    writeFileSync(path, JSON.stringify(file([A])));
    await source.refresh();
    expect(source.status.state).toBe('pending');
    expect(source.current).toBeNull();

    models = [A];
    await source.refresh();
    expect(source.status.state).toBe('loaded');
    expect(source.current?.file.models[0]?.name).toBe('a');

    // Other weights behind the same name: a different golden probe.
    writeFileSync(path, JSON.stringify(file([{ ...A, golden_nll_per_token: 2.5 }])) + ' ');
    await source.refresh();
    expect(source.status.state).toBe('refused');
    expect(source.status.message).toMatch(/golden probe.*previous calibration stays/);
    expect(source.current?.file.models[0]?.golden_nll_per_token).toBe(2);

    writeFileSync(path, '{"format": "something else"}');
    await source.refresh();
    expect(source.status.state).toBe('refused');
    expect(source.status.message).toMatch(/not a valid calibration file/);
  });
});
