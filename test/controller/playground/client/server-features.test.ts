import { describe, expect, it } from 'vitest';
import {
  calibrationInfo,
  canFlag,
  detailsFor,
  NO_FEATURES,
  serverFeatures,
} from '../../../../controller/playground/client/server-features.ts';

const doc = (properties: Record<string, unknown>) => ({
  components: { schemas: { PerplexityRequest: { properties } } },
});

describe('server features', () => {
  it('offers only the fields the OpenAPI document lists', () => {
    expect(
      serverFeatures(doc({ texts: { maxItems: 100000 }, details: { enum: ['none', 'tokens'] } })),
    ).toEqual({
      windowChars: false,
      flagFpr: false,
      spans: false,
      maxStreamTexts: 100000,
    });
    const full = serverFeatures(
      doc({
        texts: {},
        window_chars: {},
        flag_fpr: {},
        details: { anyOf: [{ enum: ['none', 'tokens', 'spans'] }, { type: 'array' }] },
      }),
    );
    expect(full).toEqual({ windowChars: true, flagFpr: true, spans: true });
    expect(detailsFor(NO_FEATURES)).toBe('tokens');
  });

  it('asks for spans and offers flagging only with a calibration for the window length in use', () => {
    const full = { windowChars: true, flagFpr: true, spans: true };
    expect(detailsFor(full)).toBe('tokens');
    expect(canFlag(full)).toBe(false);
    const calibration = calibrationInfo({
      state: 'loaded',
      default_window_chars: 64,
      calibration: { window_chars: [32, 64, 128] },
    });
    expect(calibration).toEqual({ windowChars: [32, 64, 128], defaultWindowChars: 64 });
    const calibrated = { ...full, calibration: calibration! };
    expect(canFlag(calibrated)).toBe(true);
    expect(detailsFor(calibrated)).toEqual(['tokens', 'spans']);
    expect(detailsFor(calibrated, 128)).toEqual(['tokens', 'spans']);
    expect(detailsFor(calibrated, 100)).toBe('tokens');
    expect(
      calibrationInfo({ state: 'missing', message: 'no file', default_window_chars: 64 }),
    ).toBeUndefined();
  });

  it('falls back to the basic controls for a document it cannot read', () => {
    expect(serverFeatures(null)).toEqual(NO_FEATURES);
    expect(serverFeatures({ components: {} })).toEqual(NO_FEATURES);
  });
});
