/**
 * @module
 * The "Batch" tab: up to MAX_BATCH_LINES texts, one per line, scored as one streamed request. Rows fill in as
 * results arrive (in completion order), with a progress bar; the table sorts by any column, and the results
 * download as CSV or JSONL.
 */
import { batchColumns, sortRows, toCsv, toJsonl } from './batch-rows.ts';
import type { BatchRow, Column, SortDirection } from './batch-rows.ts';
import type { PlaygroundContext } from './context.ts';
import { byId, download, h } from './dom.ts';
import { bits, figure, percentile } from './format.ts';
import { statusLine } from './status.ts';

export const MAX_BATCH_LINES = 1000;

/** Redraws at most this often while results stream in. */
const REDRAW_MS = 150;

export function mountBatchView(ctx: PlaygroundContext): void {
  const form = byId<HTMLFormElement>('batch-form');
  const input = byId<HTMLTextAreaElement>('batch-text');
  const file = byId<HTMLInputElement>('batch-file');
  const stop = byId<HTMLButtonElement>('batch-stop');
  const progress = byId<HTMLProgressElement>('batch-progress');
  const csv = byId<HTMLButtonElement>('download-csv');
  const jsonl = byId<HTMLButtonElement>('download-jsonl');
  const table = byId<HTMLTableElement>('batch-table');
  const status = statusLine(byId('batch-status'));
  const submit = form.querySelector<HTMLButtonElement>('button[type=submit]');

  let rows: BatchRow[] = [];
  let models: readonly string[] = [];
  let sort: { column: string; direction: SortDirection } = {
    column: 'index',
    direction: 'ascending',
  };
  let redraw: ReturnType<typeof setTimeout> | undefined;
  let job: AbortController | undefined;

  const columns = (): Column[] => batchColumns(models, rows);
  const draw = () => {
    redraw = undefined;
    renderTable(table, columns(), rows, sort, (column) => {
      sort =
        sort.column === column
          ? { column, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' }
          : {
              column,
              direction: column === 'index' || column === 'text' ? 'ascending' : 'descending',
            };
      draw();
      table
        .querySelector<HTMLButtonElement>(`th[data-column="${CSS.escape(column)}"] button`)
        ?.focus();
    });
  };
  const scheduleDraw = () => {
    redraw ??= setTimeout(draw, REDRAW_MS);
  };

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (chosen) input.value = await chosen.text();
  });
  stop.addEventListener('click', () => job?.abort());
  csv.addEventListener('click', () =>
    download('perplexity.csv', 'text/csv;charset=utf-8', toCsv(rows, columns())),
  );
  jsonl.addEventListener('click', () =>
    download('perplexity.jsonl', 'application/x-ndjson;charset=utf-8', toJsonl(rows)),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const texts = input.value.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (texts.length === 0) {
      status.fail('Paste at least one line of text first.');
      input.focus();
      return;
    }
    if (texts.length > MAX_BATCH_LINES) {
      status.fail(
        `That is ${texts.length} lines; the batch takes at most ${MAX_BATCH_LINES}. Split it into several runs.`,
      );
      return;
    }
    let settings;
    try {
      settings = ctx.settings.read();
    } catch (err) {
      status.fail(err);
      return;
    }
    rows = texts.map((text, index) => ({ index, text }));
    models = settings.models;
    progress.max = texts.length;
    progress.value = 0;
    csv.disabled = jsonl.disabled = true;
    if (submit) submit.disabled = true;
    stop.disabled = false;
    job = new AbortController();
    let done = 0;
    let failed = 0;
    status.busy(`Scoring ${texts.length} lines…`);
    draw();
    try {
      for await (const line of ctx.api.scoreStream(
        { texts, details: 'none', ...settings.fields },
        job.signal,
      )) {
        if (!('index' in line)) continue;
        const row = rows[line.index];
        if (!row || row.result) continue;
        row.result = line;
        done += 1;
        if (line.error || !line.ensemble) failed += 1;
        progress.value = done;
        status.busy(`Scored ${done} of ${texts.length} lines…`);
        scheduleDraw();
      }
      status.done(
        `Done: ${done} of ${texts.length} lines scored${failed ? `, ${failed} with errors (see the Error column)` : ''}.`,
      );
    } catch (err) {
      status.fail(err);
    } finally {
      if (redraw) clearTimeout(redraw);
      draw();
      job = undefined;
      stop.disabled = true;
      if (submit) submit.disabled = false;
      csv.disabled = jsonl.disabled = done === 0;
    }
  });
}

function renderTable(
  table: HTMLTableElement,
  columns: readonly Column[],
  rows: readonly BatchRow[],
  sort: { column: string; direction: SortDirection },
  onSort: (column: string) => void,
): void {
  const sortColumn = columns.find((c) => c.id === sort.column) ?? (columns[0] as Column);
  const head = h(
    'tr',
    {},
    ...columns.map((column) => {
      const th = h(
        'th',
        {
          scope: 'col',
          'data-column': column.id,
          'aria-sort': column.id === sortColumn.id ? sort.direction : undefined,
        },
        h(
          'button',
          { type: 'button', class: 'sort' },
          column.label,
          h(
            'span',
            { class: 'sort-mark', 'aria-hidden': 'true' },
            sortMark(column, sortColumn, sort),
          ),
        ),
      );
      th.querySelector('button')?.addEventListener('click', () => onSort(column.id));
      return th;
    }),
  );
  const body = sortRows(rows, sortColumn, sort.direction).map((row) =>
    h(
      'tr',
      {
        'data-index': row.index,
        'data-state': row.result ? (row.result.ensemble ? 'ok' : 'error') : 'pending',
      },
      ...columns.map((column) => cell(column, row)),
    ),
  );
  table.replaceChildren(
    h('caption', {}, 'Batch results (select a column heading to sort)'),
    h('thead', {}, head),
    h('tbody', {}, ...body),
  );
}

function sortMark(column: Column, sorted: Column, sort: { direction: SortDirection }): string {
  if (column.id !== sorted.id) return '';
  return sort.direction === 'ascending' ? ' ▲' : ' ▼';
}

function cell(column: Column, row: BatchRow): HTMLTableCellElement {
  const value = column.value(row);
  if (column.id === 'text') return h('td', { class: 'text-cell', title: row.text }, row.text);
  if (column.id === 'index') return h('th', { scope: 'row', class: 'num' }, String(value));
  if (value === undefined) return h('td', { class: 'num muted' }, row.result ? '–' : '…');
  if (typeof value === 'boolean') return h('td', {}, value ? 'yes' : 'no');
  if (typeof value === 'string') return h('td', {}, value);
  const shown =
    column.id === 'percentile'
      ? percentile(value)
      : column.id.includes('bits_per_byte')
        ? bits(value)
        : figure(value);
  return h('td', { class: 'num' }, shown);
}
