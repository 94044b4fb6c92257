/**
 * @module
 * The heatmap's legend: one swatch per band, labelled in bits per character.
 */
import { h } from './dom.ts';
import { heatBands } from './heat-scale.ts';
import type { HeatScale } from './heat-scale.ts';

export function renderLegend(scale: HeatScale): HTMLElement {
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  return h(
    'figure',
    { class: 'legend', 'data-step': scale.step },
    h('figcaption', {}, 'Surprisal, bits per character (ensemble)'),
    h(
      'ol',
      {},
      ...heatBands(scale).map((band) =>
        h(
          'li',
          {},
          h('span', { class: `swatch heat-${band.level}`, 'aria-hidden': 'true' }),
          band.to === undefined
            ? `≥ ${number.format(band.from)}`
            : `${number.format(band.from)}–${number.format(band.to)}`,
        ),
      ),
    ),
  );
}
