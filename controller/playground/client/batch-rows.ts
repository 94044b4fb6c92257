/**
 * @module
 * The batch table's data: one row per input line, the columns a result can fill, sorting by any column, and the
 * CSV and JSONL downloads. No DOM here.
 */
import { modelFigures } from './api-types.ts';
import type { TextResult } from './api-types.ts';

export interface BatchRow {
  readonly index: number;
  readonly text: string;
  /** Undefined until the line's result arrives. */
  result?: TextResult;
}

export interface Column {
  readonly id: string;
  readonly label: string;
  readonly numeric: boolean;
  value(row: BatchRow): number | string | boolean | undefined;
}

/** The columns for these models; detection columns only when some result carries them. */
export function batchColumns(models: readonly string[], rows: readonly BatchRow[]): Column[] {
  const has = (pick: (r: TextResult) => unknown) =>
    rows.some((row) => row.result && pick(row.result) !== undefined);
  const columns: Column[] = [
    { id: 'index', label: '#', numeric: true, value: (r) => r.index + 1 },
    { id: 'text', label: 'Text', numeric: false, value: (r) => r.text },
    {
      id: 'perplexity',
      label: 'Perplexity',
      numeric: true,
      value: (r) => r.result?.ensemble?.perplexity,
    },
    {
      id: 'bits_per_byte',
      label: 'Bits/byte',
      numeric: true,
      value: (r) => r.result?.ensemble?.bits_per_byte,
    },
  ];
  if (has((r) => r.ensemble?.percentile))
    columns.push({
      id: 'percentile',
      label: 'Percentile',
      numeric: true,
      value: (r) => r.result?.ensemble?.percentile,
    });
  if (has((r) => r.ensemble?.max_window))
    columns.push({
      id: 'max_window_bits_per_byte',
      label: 'Max window bits/byte',
      numeric: true,
      value: (r) => r.result?.ensemble?.max_window?.bits_per_byte,
    });
  if (has((r) => r.ensemble?.flagged))
    columns.push({
      id: 'flagged',
      label: 'Flagged',
      numeric: false,
      value: (r) => r.result?.ensemble?.flagged,
    });
  columns.push({
    id: 'spread',
    label: 'Spread',
    numeric: true,
    value: (r) => r.result?.ensemble?.spread,
  });
  for (const model of models)
    columns.push({
      id: `model:${model}`,
      label: `${model} perplexity`,
      numeric: true,
      value: (r) => (r.result ? modelFigures(r.result, model)?.perplexity : undefined),
    });
  columns.push({
    id: 'error',
    label: 'Error',
    numeric: false,
    value: (r) => r.result && problem(r.result),
  });
  return columns;
}

export type SortDirection = 'ascending' | 'descending';

/** Rows sorted by a column; rows without a value stay last in both directions, ties keep input order. */
export function sortRows(
  rows: readonly BatchRow[],
  column: Column,
  direction: SortDirection,
): BatchRow[] {
  const sign = direction === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = column.value(a);
    const vb = column.value(b);
    if (va === undefined || vb === undefined)
      return va === vb ? a.index - b.index : va === undefined ? 1 : -1;
    const order =
      typeof va === 'number' && typeof vb === 'number'
        ? va - vb
        : String(va).localeCompare(String(vb));
    return order === 0 ? a.index - b.index : sign * order;
  });
}

/** CSV (RFC 4180) of the rows in input order. */
export function toCsv(rows: readonly BatchRow[], columns: readonly Column[]): string {
  const lines = [columns.map((c) => csvField(c.id)).join(',')];
  for (const row of [...rows].sort((a, b) => a.index - b.index))
    lines.push(columns.map((c) => csvField(c.value(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** One JSON object per line: the input text with the server's result, in input order. */
export function toJsonl(rows: readonly BatchRow[]): string {
  return [...rows]
    .sort((a, b) => a.index - b.index)
    .map((row) => `${JSON.stringify({ index: row.index, text: row.text, ...row.result })}\n`)
    .join('');
}

/** What went wrong for a text: its error, or the models missing from a degraded ensemble. */
function problem(result: TextResult): string | undefined {
  if (result.error) return result.error.message;
  const missing = result.ensemble?.missing_models ?? [];
  return missing.length ? `degraded: no answer from ${missing.join(', ')}` : undefined;
}

function csvField(value: number | string | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  // A leading = + - @ makes spreadsheets run the cell as a formula; a quote mark keeps it text.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
