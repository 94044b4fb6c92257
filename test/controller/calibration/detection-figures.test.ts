import { describe, expect, it } from 'vitest';
import { buildCalibration } from '../../../controller/calibration/build-calibration.ts';
import { Calibration } from '../../../controller/calibration/calibration.ts';
import { detectText } from '../../../controller/calibration/detection-figures.ts';
import type { AnsweredModel } from '../../../controller/calibration/detection-figures.ts';
import { calibrationSample } from '../../../controller/scoring/text-surprisal.ts';
import { runOfTokens } from '../../../controller/scoring/token-run.ts';

/** One token per character: a model that finds every character `bits` bits surprising, except a hot range. */
function model(
  name: string,
  text: string,
  bits: number,
  hot?: [number, number, number],
): AnsweredModel {
  const tokens = [...text].map((ch, i) => ({
    text: ch,
    logprob: -((hot && i >= hot[0] && i < hot[1] ? hot[2] : bits) * Math.LN2),
  }));
  const nll = tokens.reduce((s, t) => s - t.logprob, 0);
  return {
    name,
    weight: 1,
    run: runOfTokens(tokens),
    bits_per_byte: nll / (Buffer.byteLength(text) * Math.LN2),
  };
}

const FINGERPRINTS = ['a', 'b'].map((name) => ({
  name,
  served_name: name,
  max_model_len: 4096,
  prefix_token_id: 1,
  golden_nll_per_token: 3,
  weight: 1,
}));

/** Reference texts: plain letters at 2–3 bits per character, of lengths in every bucket. */
function calibration(): Calibration {
  const samples = [];
  for (const length of [60, 300, 1200, 4000]) {
    for (let i = 0; i < 60; i++) {
      const text = 'x'.repeat(length);
      const bits = 2 + i / 60;
      samples.push(
        calibrationSample(text, [model('a', text, bits), model('b', text, bits + 0.5)], [16, 64]),
      );
    }
  }
  return new Calibration(
    buildCalibration({
      samples,
      models: FINGERPRINTS,
      windowChars: [16, 64],
      corpus: { name: 't', version: '1', sha256: '0', texts: samples.length, split: 'fit' },
    }),
  );
}

describe('detectText', () => {
  const cal = calibration();
  const text = 'x'.repeat(1200);

  it('finds the max window over the hot characters and flags it, not the typical text', () => {
    const hot: [number, number, number] = [900, 964, 12];
    const attacked = detectText(
      text,
      [model('a', text, 2.5, hot), model('b', text, 3, hot)],
      { windowChars: 64, spans: true, flagFpr: 0.01 },
      cal,
    );
    expect(attacked.ensemble.max_window).toMatchObject({ start: 900, end: 964 });
    expect(attacked.ensemble.max_window.bits_per_byte).toBeCloseTo(12, 9);
    expect(attacked.ensemble.max_window.percentile).toBe(100);
    expect(attacked.ensemble.flagged).toBe(true);
    expect(attacked.ensemble.flag_reasons).toContain('window');
    expect(attacked.ensemble.spans?.length).toBe(1);
    const span = attacked.ensemble.spans?.[0];
    expect(span?.start).toBeLessThanOrEqual(900);
    expect(span?.end).toBeGreaterThanOrEqual(964);
    expect(attacked.models.a?.max_window_bits_per_byte).toBeCloseTo(12, 9);

    const typical = detectText(
      text,
      [model('a', text, 2.5), model('b', text, 3)],
      { windowChars: 64, spans: true, flagFpr: 0.01 },
      cal,
    );
    expect(typical.ensemble.flagged).toBe(false);
    expect(typical.ensemble.flag_reasons).toEqual([]);
    expect(typical.ensemble.spans).toEqual([]);
    expect(typical.ensemble.percentile).toBeGreaterThan(30);
    expect(typical.ensemble.percentile).toBeLessThan(70);
  });

  it('flags a text that is unusual as a whole for the text', () => {
    const d = detectText(
      text,
      [model('a', text, 6), model('b', text, 6.5)],
      { windowChars: 64, spans: false, flagFpr: 0.05 },
      cal,
    );
    expect(d.ensemble.percentile).toBe(100);
    expect(d.ensemble.flag_reasons).toContain('text');
    expect(d.ensemble.spans).toBeUndefined();
  });

  it('gives windows but no percentiles or flags without a calibration', () => {
    const d = detectText(
      'abc',
      [model('a', 'abc', 1)],
      { windowChars: 64, spans: true, flagFpr: 0.01 },
      null,
    );
    expect(d.ensemble).toEqual({
      max_window: { start: 0, end: 3, bits_per_byte: expect.closeTo(1, 9) },
    });
    expect(d.models.a).toEqual({ max_window_bits_per_byte: expect.closeTo(1, 9) });
  });

  it('has no window percentile for an uncalibrated window length, and flags on the text alone', () => {
    const d = detectText(
      text,
      [model('a', text, 2.5), model('b', text, 3)],
      { windowChars: 100, spans: false, flagFpr: 0.01 },
      cal,
    );
    expect(d.ensemble.max_window.percentile).toBeUndefined();
    expect(d.ensemble.flagged).toBe(false);
  });
});
