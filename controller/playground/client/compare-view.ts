/**
 * @module
 * The "Compare" tab: two texts scored in one request and drawn side by side on one colour scale.
 */
import type { PlaygroundContext } from './context.ts';
import { byId } from './dom.ts';
import { NATURAL_EXAMPLE, SUFFIXED_EXAMPLE } from './examples.ts';
import { renderScored, scoreForDisplay } from './scored-view.ts';
import { statusLine } from './status.ts';

export function mountCompareView(ctx: PlaygroundContext): void {
  const form = byId<HTMLFormElement>('compare-form');
  const a = byId<HTMLTextAreaElement>('compare-a');
  const b = byId<HTMLTextAreaElement>('compare-b');
  const output = byId('compare-result');
  const status = statusLine(byId('compare-status'));
  const submit = form.querySelector<HTMLButtonElement>('button[type=submit]');

  byId('compare-example').addEventListener('click', () => {
    a.value = NATURAL_EXAMPLE;
    b.value = SUFFIXED_EXAMPLE;
    a.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const empty = [a, b].find((t) => t.value.trim() === '');
    if (empty) {
      status.fail('Fill in both texts first.');
      empty.focus();
      return;
    }
    if (submit) submit.disabled = true;
    status.busy('Scoring both texts…');
    try {
      const analyses = await scoreForDisplay(ctx, [a.value, b.value]);
      output.replaceChildren(renderScored(analyses, ['Text A', 'Text B']));
      status.done('Scored both texts; colours use one scale.');
    } catch (err) {
      status.fail(err);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
}
