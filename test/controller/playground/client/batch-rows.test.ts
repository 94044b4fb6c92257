import { describe, expect, it } from 'vitest';
import {
  batchColumns,
  sortRows,
  toCsv,
  toJsonl,
} from '../../../../controller/playground/client/batch-rows.ts';
import type { BatchRow } from '../../../../controller/playground/client/batch-rows.ts';

const ensemble = (perplexity: number, extra: Record<string, unknown> = {}) => ({
  perplexity,
  bits_per_byte: perplexity / 100,
  byte_perplexity: 1,
  spread: 0.1,
  models_used: ['a', 'b'],
  degraded: false,
  missing_models: [],
  ...extra,
});
const model = (perplexity: number) => ({
  perplexity,
  nll: 1,
  tokens: 1,
  bits_per_byte: 1,
  windows: 1,
});

function rows(): BatchRow[] {
  return [
    {
      index: 0,
      text: 'plain',
      result: { index: 0, ensemble: ensemble(50), models: { a: model(40), b: model(60) } },
    },
    {
      index: 1,
      text: '=HYPERLINK("x")',
      result: { index: 1, ensemble: ensemble(200), models: { a: model(150), b: model(250) } },
    },
    { index: 2, text: 'pending' },
    {
      index: 3,
      text: 'has, comma\nand "quotes"',
      result: {
        index: 3,
        models: { a: { error: { type: 'empty', message: 'no tokens' } } },
        error: { type: 'x', message: 'failed' },
      },
    },
    {
      index: 4,
      text: 'b',
      result: { index: 4, ensemble: ensemble(50), models: { a: model(1), b: model(1) } },
    },
  ];
}

describe('batch rows', () => {
  it('has a column per figure and model, and detection columns only when a result carries them', () => {
    const ids = batchColumns(['a', 'b'], rows()).map((c) => c.id);
    expect(ids).toEqual([
      'index',
      'text',
      'perplexity',
      'bits_per_byte',
      'spread',
      'model:a',
      'model:b',
      'error',
    ]);
    const withDetection = rows();
    (withDetection[0] as any).result.ensemble = ensemble(50, {
      percentile: 12,
      flagged: false,
      max_window: { start: 0, end: 3, bits_per_byte: 4 },
    });
    expect(batchColumns(['a'], withDetection).map((c) => c.id)).toEqual([
      'index',
      'text',
      'perplexity',
      'bits_per_byte',
      'percentile',
      'max_window_bits_per_byte',
      'flagged',
      'spread',
      'model:a',
      'error',
    ]);
  });

  it('sorts by any column, keeps rows without a value last and ties in input order', () => {
    const all = rows();
    const columns = batchColumns(['a', 'b'], all);
    const by = (id: string) => columns.find((c) => c.id === id)!;
    expect(sortRows(all, by('perplexity'), 'descending').map((r) => r.index)).toEqual([
      1, 0, 4, 2, 3,
    ]);
    expect(sortRows(all, by('perplexity'), 'ascending').map((r) => r.index)).toEqual([
      0, 4, 1, 2, 3,
    ]);
    expect(sortRows(all, by('model:a'), 'ascending').map((r) => r.index)).toEqual([4, 0, 1, 2, 3]);
    expect(sortRows(all, by('text'), 'ascending').map((r) => r.text)[0]).toBe('=HYPERLINK("x")');
    expect(sortRows(all, by('error'), 'ascending').map((r) => r.index)[0]).toBe(3);
  });

  it('writes RFC 4180 CSV in input order, quoting what needs it and defusing spreadsheet formulas', () => {
    const all = rows();
    const csv = toCsv(all, batchColumns(['a', 'b'], all));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('index,text,perplexity,bits_per_byte,spread,model:a,model:b,error');
    expect(lines[1]).toBe('1,plain,50,0.5,0.1,40,60,');
    expect(lines[2]).toBe(`2,"'=HYPERLINK(""x"")",200,2,0.1,150,250,`);
    expect(lines[3]).toBe('3,pending,,,,,,');
    expect(csv).toContain('4,"has, comma\nand ""quotes""",,,,,,failed');
    expect(csv.endsWith('\r\n')).toBe(true);
  });

  it('writes one JSON object per text with its input text and the server result', () => {
    const lines = toJsonl(rows())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatchObject({
      index: 1,
      text: '=HYPERLINK("x")',
      ensemble: { perplexity: 200 },
    });
    expect(lines[2]).toEqual({ index: 2, text: 'pending' });
  });
});
