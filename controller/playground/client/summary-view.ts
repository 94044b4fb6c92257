/**
 * @module
 * A scored text's figures: the ensemble summary, and one row per model with bars for bits per byte and
 * percentile, so disagreement between models shows at a glance.
 */
import { modelFigures } from './api-types.ts';
import type { TextResult } from './api-types.ts';
import { h } from './dom.ts';
import { bits, figure, percentile } from './format.ts';

export function renderSummary(result: TextResult): HTMLElement {
  const e = result.ensemble;
  if (!e) {
    return h(
      'p',
      { class: 'error', role: 'alert' },
      `This text could not be scored: ${result.error?.message ?? 'no model answered'}.`,
    );
  }
  const items: [string, Node | string][] = [
    ['Perplexity', figure(e.perplexity)],
    ['Bits per byte', bits(e.bits_per_byte)],
  ];
  if (e.percentile !== undefined) items.push(['Percentile', percentile(e.percentile)]);
  if (e.flagged !== undefined)
    items.push([
      'Flagged',
      e.flagged ? h('strong', { class: 'flag-yes' }, `yes (${flagReasons(e.flag_reasons)})`) : 'no',
    ]);
  items.push(['Model spread', figure(e.spread)]);
  items.push([
    'Models',
    e.degraded
      ? h(
          'span',
          { class: 'degraded' },
          `${e.models_used.length} answered; degraded, missing ${e.missing_models.join(', ')}`,
        )
      : `${e.models_used.length} answered`,
  ]);
  return h(
    'dl',
    { class: 'summary' },
    ...items.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
}

function flagReasons(reasons: readonly string[] | undefined): string {
  const words: Record<string, string> = {
    text: 'the whole text is unusual',
    window: 'a window of it is unusual',
  };
  return (reasons ?? []).map((r) => words[r] ?? r).join('; ') || 'flagged';
}

/**
 * @param models the models asked for, in order
 * @param maxBitsPerByte the right end of the bits-per-byte bars (shared by texts shown together)
 */
export function renderModelTable(
  result: TextResult,
  models: readonly string[],
  maxBitsPerByte: number,
  caption: string,
): HTMLElement {
  const withPercentile = models.some((m) => modelFigures(result, m)?.percentile !== undefined);
  const withWindow = models.some(
    (m) => modelFigures(result, m)?.max_window_bits_per_byte !== undefined,
  );
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Model'),
    h('th', { scope: 'col' }, 'Perplexity'),
    h('th', { scope: 'col' }, 'Bits per byte'),
    withPercentile && h('th', { scope: 'col' }, 'Percentile'),
    withWindow && h('th', { scope: 'col' }, 'Max window bits/byte'),
  );
  const rows = models.map((model) => {
    const entry = result.models[model];
    const f = modelFigures(result, model);
    if (!f) {
      const why = entry && 'error' in entry ? entry.error.message : 'not asked';
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, model),
        h('td', { colspan: 2 + Number(withPercentile) + Number(withWindow) }, `no figures: ${why}`),
      );
    }
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, model),
      h('td', { class: 'num' }, figure(f.perplexity)),
      h('td', {}, bar(f.bits_per_byte, maxBitsPerByte, bits(f.bits_per_byte))),
      withPercentile && h('td', {}, bar(f.percentile, 100, percentile(f.percentile))),
      withWindow && h('td', { class: 'num' }, bits(f.max_window_bits_per_byte)),
    );
  });
  // On a narrow screen the table scrolls sideways inside its box instead of widening the page.
  return h(
    'div',
    // Focusable, so a keyboard user can scroll it too.
    { class: 'scroll-x', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: 'models' },
      h('caption', {}, caption),
      h('thead', {}, head),
      h('tbody', {}, ...rows),
    ),
  );
}

/** A horizontal bar with its number beside it; the bar is decoration, the number is the content. */
function bar(value: number | undefined, max: number, label: string): HTMLElement {
  const fill = h('span', { class: 'bar-fill' });
  const share = value !== undefined && max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return h(
    'span',
    { class: 'bar-cell' },
    h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
    h('span', { class: 'num' }, label),
  );
}
