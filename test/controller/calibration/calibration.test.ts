import { describe, expect, it } from 'vitest';
import { buildCalibration } from '../../../controller/calibration/build-calibration.ts';
import {
  CalibrationFileError,
  parseCalibrationFile,
} from '../../../controller/calibration/calibration-file.ts';
import {
  Calibration,
  CalibrationMismatchError,
} from '../../../controller/calibration/calibration.ts';
import type { CalibrationSample } from '../../../controller/scoring/text-surprisal.ts';

const MODELS = [
  {
    name: 'a',
    served_name: 'a',
    max_model_len: 2048,
    prefix_token_id: 1,
    golden_nll_per_token: 3.2,
    weight: 1,
  },
  {
    name: 'b',
    served_name: 'b',
    max_model_len: 1024,
    prefix_token_id: 0,
    golden_nll_per_token: 4.1,
    weight: 1,
  },
];
const CORPUS = { name: 'test', version: '1', sha256: 'x', texts: 400, split: 'fit' };

/** Deterministic samples: model a's bits per byte run 1.00 … 1.99 in each bucket, model b is 2 × a. */
function samples(): CalibrationSample[] {
  const out: CalibrationSample[] = [];
  for (const bytes of [50, 300, 1000, 5000]) {
    for (let i = 0; i < 100; i++) {
      const a = 1 + i / 100;
      out.push({
        bytes,
        models: {
          a: { bits_per_byte: a, max_window: [a + 1] },
          b: { bits_per_byte: 2 * a, max_window: [2 * a + 1] },
        },
        ensemble_max_window: [1.5 * a + 1],
      });
    }
  }
  return out;
}

describe('calibration', () => {
  const file = buildCalibration({
    samples: samples(),
    models: MODELS,
    windowChars: [64],
    corpus: CORPUS,
  });
  const cal = new Calibration(parseCalibrationFile(JSON.stringify(file)));

  it('places a model against texts of its length bucket', () => {
    expect(cal.modelText('a', 300, 1.495)?.percentile).toBeCloseTo(50.5, 6);
    expect(cal.modelText('a', 300, 0.5)?.percentile).toBe(0);
    expect(cal.modelText('a', 300, 3)?.percentile).toBe(100);
    expect(cal.modelText('unknown', 300, 1)).toBeNull();
  });

  it('places the ensemble by the mean of the models z-scores, not by a mean of raw figures', () => {
    // a at its median, b far above its own: the ensemble is above the reference median.
    const high = cal.ensembleText(300, [
      { name: 'a', bits_per_byte: 1.495, weight: 1 },
      { name: 'b', bits_per_byte: 5, weight: 1 },
    ]);
    expect(high?.percentile).toBeGreaterThan(90);
    const typical = cal.ensembleText(300, [
      { name: 'a', bits_per_byte: 1.495, weight: 1 },
      { name: 'b', bits_per_byte: 2.99, weight: 1 },
    ]);
    expect(typical?.percentile).toBeGreaterThan(40);
    expect(typical?.percentile).toBeLessThan(60);
  });

  it('flags about the requested share of reference texts', () => {
    for (const fpr of [0.01, 0.05, 0.2]) {
      let flagged = 0;
      for (const s of samples()) {
        const text = cal.ensembleText(s.bytes, [
          { name: 'a', bits_per_byte: s.models.a!.bits_per_byte, weight: 1 },
          { name: 'b', bits_per_byte: s.models.b!.bits_per_byte, weight: 1 },
        ]);
        const window = cal.ensembleWindow(s.bytes, 64, s.ensemble_max_window[0]!);
        if (cal.flagReasons(fpr, 64, s.bytes, text, window).length > 0) flagged++;
      }
      expect(flagged / 400).toBeCloseTo(fpr, 2);
    }
  });

  it('has no window percentile for a window size it was not made for', () => {
    expect(cal.ensembleWindow(300, 32, 2)).toBeNull();
    expect(cal.windowBitsThreshold(300, 32, 0.01)).toBeNull();
    expect(cal.windowBitsThreshold(300, 64, 0.01)).toBeGreaterThan(3);
  });

  it('refuses a file made for other models', () => {
    const current = MODELS.map(({ weight: _w, ...m }) => m);
    expect(() => Calibration.forModels(file, current)).not.toThrow();
    expect(() => Calibration.forModels(file, current.slice(0, 1))).toThrow(
      CalibrationMismatchError,
    );
    const reweighted = current.map((m) =>
      m.name === 'a' ? { ...m, golden_nll_per_token: 3.5 } : m,
    );
    expect(() => Calibration.forModels(file, reweighted)).toThrow(/golden probe/);
  });

  it('refuses a damaged or foreign file', () => {
    expect(() => parseCalibrationFile('{')).toThrow(CalibrationFileError);
    expect(() => parseCalibrationFile(JSON.stringify({ ...file, version: 2 }))).toThrow(
      /version 2/,
    );
    const broken = { ...file, ensemble: { ...file.ensemble, text: [] } };
    expect(() => parseCalibrationFile(JSON.stringify(broken))).toThrow(/ensemble.text/);
  });
});
