/**
 * @module
 * Scores texts for display and draws them: for each text its summary, model bars and heatmap. Texts drawn
 * together share one colour scale, one legend and one bar length, so equal colours mean equal surprisal.
 */
import type { PlaygroundContext } from './context.ts';
import { h } from './dom.ts';
import { heatScale } from './heat-scale.ts';
import { renderHeatmap } from './heatmap-view.ts';
import { renderLegend } from './legend.ts';
import { detailsFor } from './server-features.ts';
import { renderModelTable, renderSummary } from './summary-view.ts';
import { analyseText } from './text-analysis.ts';
import type { TextAnalysis } from './text-analysis.ts';

export async function scoreForDisplay(
  ctx: PlaygroundContext,
  texts: readonly string[],
  signal?: AbortSignal,
): Promise<TextAnalysis[]> {
  const settings = ctx.settings.read();
  const response = await ctx.api.score(
    {
      texts: [...texts],
      details: detailsFor(ctx.features, settings.fields.window_chars),
      ...settings.fields,
    },
    signal,
  );
  const weights = ctx.settings.weights();
  return [...response.results]
    .sort((a, b) => a.index - b.index)
    .map((result) =>
      analyseText(
        texts[result.index] ?? '',
        result,
        settings.models,
        weights,
        settings.windowChars,
      ),
    );
}

/** @param labels a heading per text ("Text A", ...) */
export function renderScored(
  analyses: readonly TextAnalysis[],
  labels: readonly string[],
): HTMLElement {
  const scale = heatScale(analyses.flatMap((a) => [...a.surprisal.perChar]));
  let maxBpb = 0;
  for (const a of analyses)
    for (const figures of Object.values(a.result.models))
      if (!('error' in figures)) maxBpb = Math.max(maxBpb, figures.bits_per_byte);
  const columns = analyses.map((analysis, i) => {
    const label = labels[i] ?? `Text ${i + 1}`;
    const models = Object.keys(analysis.result.models);
    return h(
      'section',
      { class: 'scored', 'aria-label': label },
      labels.length > 1 ? h('h3', {}, label) : null,
      renderSummary(analysis.result),
      renderModelTable(
        analysis.result,
        models,
        maxBpb,
        labels.length > 1 ? `Each model, ${label}` : 'Each model',
      ),
      analysis.models.length > 0 ? renderHeatmap(analysis, scale, label) : null,
    );
  });
  return h(
    'div',
    { class: 'scored-group', 'data-step': scale.step },
    renderLegend(scale),
    h('div', { class: columns.length > 1 ? 'pair' : 'single' }, ...columns),
  );
}
