import { describe, expect, it } from 'vitest';
import {
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
    expect(detailsFor(full)).toEqual(['tokens', 'spans']);
    expect(detailsFor(NO_FEATURES)).toBe('tokens');
  });

  it('falls back to the basic controls for a document it cannot read', () => {
    expect(serverFeatures(null)).toEqual(NO_FEATURES);
    expect(serverFeatures({ components: {} })).toEqual(NO_FEATURES);
  });
});
