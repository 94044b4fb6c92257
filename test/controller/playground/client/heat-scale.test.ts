import { describe, expect, it } from 'vitest';
import {
  HEAT_LEVELS,
  heatBands,
  heatLevel,
  heatScale,
} from '../../../../controller/playground/client/heat-scale.ts';

describe('heat scale', () => {
  it('picks the smallest round band width whose top band starts at or above the 95th percentile', () => {
    const values = Array.from({ length: 100 }, (_, i) => i / 10); // 0 … 9.9, 95th percentile 9.4
    const scale = heatScale(values);
    expect(scale.step).toBe(1.25);
    expect(heatLevel(scale, 9.4)).toBe(HEAT_LEVELS - 2);
    expect(heatLevel(scale, 9.9)).toBe(HEAT_LEVELS - 2);
    expect(heatScale([0.1, 0.2, 0.3]).step).toBe(0.1);
    expect(heatScale([...values, 1000]).step).toBe(1.25);
  });

  it('maps values to bands, clamps the ends and marks missing figures', () => {
    const scale = { step: 0.5 };
    expect(heatLevel(scale, 0)).toBe(0);
    expect(heatLevel(scale, 0.49)).toBe(0);
    expect(heatLevel(scale, 0.5)).toBe(1);
    expect(heatLevel(scale, 1e9)).toBe(HEAT_LEVELS - 1);
    expect(heatLevel(scale, -1)).toBe(0);
    expect(heatLevel(scale, Number.NaN)).toBe(-1);
  });

  it('labels the legend from 0 in band steps, the last band open-ended', () => {
    const bands = heatBands({ step: 0.25 });
    expect(bands).toHaveLength(HEAT_LEVELS);
    expect(bands[0]).toEqual({ level: 0, from: 0, to: 0.25 });
    expect(bands.at(-1)).toEqual({ level: HEAT_LEVELS - 1, from: 2 });
  });

  it('ignores characters without a figure and works for an empty text', () => {
    expect(heatScale([Number.NaN, Number.NaN]).step).toBe(0.1);
    expect(heatScale([]).step).toBe(0.1);
  });
});
