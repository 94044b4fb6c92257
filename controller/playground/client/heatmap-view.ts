/**
 * @module
 * The text drawn as a heatmap of ensemble surprisal. Each run of characters is one element with its band's
 * colour; the outlined window and the flagged spans are marked by borders and underlines (shape, not only
 * colour). Hovering a run, or moving to it with the arrow keys, shows each model's token there.
 */
import { h } from './dom.ts';
import { bits, excerpt, percentile } from './format.ts';
import { heatLevel } from './heat-scale.ts';
import type { HeatScale } from './heat-scale.ts';
import { splitRuns } from './surprisal.ts';
import type { CharRun } from './surprisal.ts';
import type { TextAnalysis } from './text-analysis.ts';

let nextId = 0;

export function renderHeatmap(
  analysis: TextAnalysis,
  scale: HeatScale,
  label: string,
): HTMLElement {
  const id = `heatmap-${nextId++}`;
  const { text, window, spans } = analysis;
  const edges: number[] = [];
  if (window) edges.push(window.start, window.end);
  for (const s of spans) edges.push(s.start, s.end);
  const runs = splitRuns(analysis.surprisal.runs, edges);

  const detail = h(
    'p',
    { class: 'run-detail', id: `${id}-detail`, 'aria-live': 'polite' },
    'Point at the text, or focus it and use the arrow keys, to see what each model read there.',
  );
  const map = h('div', {
    class: 'heatmap',
    role: 'group',
    'aria-label': `${label}: text coloured by surprisal`,
    'aria-describedby': `${id}-detail`,
    'data-step': scale.step,
  });
  const elements = runs.map((run, i) => {
    const inWindow = !!window && run.start >= window.start && run.end <= window.end;
    const inSpan = spans.some((s) => run.start >= s.start && run.end <= s.end);
    const level = heatLevel(scale, run.bitsPerChar);
    const classes = ['run', level >= 0 ? `heat-${level}` : 'heat-none'];
    if (inWindow) classes.push('in-window');
    if (inWindow && run.start === window.start) classes.push('window-start');
    if (inWindow && run.end === window.end) classes.push('window-end');
    if (inSpan) classes.push('in-span');
    const el = h(
      'span',
      {
        class: classes.join(' '),
        tabindex: i === 0 ? 0 : -1,
        'data-start': run.start,
        'data-end': run.end,
        'data-level': level,
        'data-bits': Number.isFinite(run.bitsPerChar) ? run.bitsPerChar.toFixed(4) : undefined,
      },
      text.slice(run.start, run.end),
    );
    const show = () => {
      detail.replaceChildren(...describeRun(text, run, analysis.models, inWindow, inSpan));
    };
    el.addEventListener('focus', () => {
      for (const other of elements) other.tabIndex = -1;
      el.tabIndex = 0;
      show();
    });
    el.addEventListener('mouseenter', show);
    return el;
  });
  map.append(...elements);
  map.addEventListener('keydown', (event) => {
    const at = elements.indexOf(document.activeElement as HTMLSpanElement);
    if (at < 0) return;
    const to = {
      ArrowRight: at + 1,
      ArrowDown: at + 1,
      ArrowLeft: at - 1,
      ArrowUp: at - 1,
      Home: 0,
      End: elements.length - 1,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    elements[Math.max(0, Math.min(elements.length - 1, to))]?.focus();
  });

  return h(
    'figure',
    { class: 'heatmap-figure' },
    map,
    detail,
    h('figcaption', {}, ...windowNotes(analysis)),
  );
}

function describeRun(
  text: string,
  run: CharRun,
  models: readonly string[],
  inWindow: boolean,
  inSpan: boolean,
): Node[] {
  const head = h(
    'span',
    { class: 'detail-head' },
    `Characters ${run.start + 1}–${run.end} “${excerpt(text.slice(run.start, run.end), 30)}”: `,
    h('strong', {}, `${bits(run.bitsPerChar)} bits/char`),
    ' (ensemble)',
    inWindow ? ', in the outlined window' : '',
    inSpan ? ', in a flagged span' : '',
  );
  const list = h('ul', { class: 'detail-models' });
  for (const model of models) {
    const piece = run.pieces.get(model);
    if (!piece) continue;
    const chars = piece.end - piece.start;
    list.append(
      h(
        'li',
        {},
        h('span', { class: 'model-name' }, model),
        ': token “',
        h('code', {}, excerpt(piece.tokenText, 24)),
        `” ${bits(piece.bits)} bits over ${chars} char${chars === 1 ? '' : 's'} = ${bits(piece.bits / chars)} bits/char`,
      ),
    );
  }
  return [head, list];
}

function windowNotes(analysis: TextAnalysis): Node[] {
  const notes: Node[] = [];
  const w = analysis.window;
  if (w) {
    const figure =
      w.source === 'server'
        ? `${bits(w.bitsPerByte)} bits/byte${w.percentile !== undefined ? `, percentile ${percentile(w.percentile)}` : ''}`
        : `${bits(w.bitsPerChar)} bits/char, found in the browser (this server reports no windows)`;
    notes.push(
      h(
        'span',
        { class: 'note-window' },
        h('span', { class: 'key-window', 'aria-hidden': 'true' }),
        ` Outlined: the most surprising window, characters ${w.start + 1}–${w.end}: ${figure}.`,
      ),
    );
  }
  if (analysis.spans.length > 0) {
    notes.push(
      h(
        'span',
        { class: 'note-spans' },
        h('span', { class: 'key-span', 'aria-hidden': 'true' }),
        ` Underlined: ${analysis.spans.length} flagged span${analysis.spans.length === 1 ? '' : 's'} (${analysis.spans
          .map((s) => `${s.start + 1}–${s.end}`)
          .join(', ')}).`,
      ),
    );
  }
  return notes;
}
