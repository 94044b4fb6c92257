/**
 * @module
 * The "One text" tab: score a text and show its summary, model bars and heatmap.
 */
import type { PlaygroundContext } from './context.ts';
import { byId } from './dom.ts';
import { SUFFIXED_EXAMPLE } from './examples.ts';
import { renderScored, scoreForDisplay } from './scored-view.ts';
import { statusLine } from './status.ts';

export function mountSingleView(ctx: PlaygroundContext): void {
  const form = byId<HTMLFormElement>('single-form');
  const input = byId<HTMLTextAreaElement>('single-text');
  const output = byId('single-result');
  const status = statusLine(byId('single-status'));
  const submit = form.querySelector<HTMLButtonElement>('button[type=submit]');

  byId('single-example').addEventListener('click', () => {
    input.value = SUFFIXED_EXAMPLE;
    input.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (text.trim() === '') {
      status.fail('Type or paste a text first.');
      input.focus();
      return;
    }
    if (submit) submit.disabled = true;
    status.busy('Scoring…');
    try {
      const [analysis] = await scoreForDisplay(ctx, [text]);
      if (!analysis) throw new Error('the server sent no result');
      output.replaceChildren(renderScored([analysis], ['This text']));
      status.done(`Scored ${text.length} characters.`);
    } catch (err) {
      status.fail(err);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
}
