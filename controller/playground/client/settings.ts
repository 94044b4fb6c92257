/**
 * @module
 * The shared settings: which models to use, the window size and the flagging rate. Controls the server does not
 * support are disabled, with a note saying so.
 */
import type { ModelInfo, ScoreRequest } from './api-types.ts';
import { byId, h } from './dom.ts';
import { canFlag } from './server-features.ts';
import type { ServerFeatures } from './server-features.ts';
import { DEFAULT_WINDOW_CHARS } from './text-analysis.ts';

export interface RequestSettings {
  /** Fields to add to a scoring request. */
  readonly fields: Pick<ScoreRequest, 'models' | 'window_chars' | 'flag_fpr'>;
  /** The models that will answer, in order. */
  readonly models: readonly string[];
  /** Window for the browser's own search when the server reports none. */
  readonly windowChars: number;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export class Settings {
  readonly #picker = byId<HTMLFieldSetElement>('model-picker');
  readonly #window = byId<HTMLInputElement>('window-chars');
  readonly #fpr = byId<HTMLInputElement>('flag-fpr');
  #models: readonly ModelInfo[] = [];
  #features: ServerFeatures;

  constructor(features: ServerFeatures) {
    this.#features = features;
    this.#fpr.disabled = !canFlag(features);
    const notes: string[] = [];
    if (!features.windowChars)
      notes.push(
        'This server does not report windows: the page finds the most surprising window itself.',
      );
    if (!features.flagFpr) notes.push('This server does not flag texts, so the rate is off.');
    else if (!features.calibration)
      notes.push(
        'This server has no calibration in force, so percentiles, flagged spans and flagging are off (see /v1/calibration).',
      );
    byId('settings-note').textContent = notes.join(' ');
  }

  get models(): readonly ModelInfo[] {
    return this.#models;
  }

  showModels(models: readonly ModelInfo[]): void {
    this.#models = models;
    const legend = h('legend', {}, 'Models');
    const boxes = models.map((m) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', name: 'model', value: m.id, checked: true }),
        ` ${m.id}`,
        m.ready ? '' : h('span', { class: 'muted' }, ' (not ready)'),
      ),
    );
    this.#picker.replaceChildren(legend, ...boxes);
  }

  showModelError(message: string): void {
    this.#picker.replaceChildren(
      h('legend', {}, 'Models'),
      h('p', { class: 'error' }, `Could not list the models: ${message}`),
    );
  }

  /** @throws SettingsError naming the control to fix */
  read(): RequestSettings {
    const checked = [
      ...this.#picker.querySelectorAll<HTMLInputElement>('input[name=model]:checked'),
    ].map((box) => box.value);
    if (this.#models.length > 0 && checked.length === 0)
      throw new SettingsError('Pick at least one model under Settings.');
    const all = checked.length === this.#models.length;
    const windowChars = this.#number(this.#window, 'Window');
    if (windowChars !== undefined && (!Number.isInteger(windowChars) || windowChars < 1))
      throw new SettingsError('Window must be a whole number of characters, 1 or more.');
    const fpr = this.#fpr.disabled ? undefined : this.#number(this.#fpr, 'Flag rate');
    if (fpr !== undefined && !(fpr > 0 && fpr <= 0.5))
      throw new SettingsError('The flag rate must be above 0 and at most 0.5 (for example 0.01).');
    return {
      fields: {
        ...(all ? {} : { models: checked }),
        ...(windowChars !== undefined && this.#features.windowChars
          ? { window_chars: windowChars }
          : {}),
        ...(fpr !== undefined ? { flag_fpr: fpr } : {}),
      },
      models: checked.length ? checked : this.#models.map((m) => m.id),
      windowChars: windowChars ?? DEFAULT_WINDOW_CHARS,
    };
  }

  /** Server weights, for the per-character ensemble. */
  weights(): Map<string, number> {
    return new Map(this.#models.map((m) => [m.id, m.weight]));
  }

  #number(input: HTMLInputElement, name: string): number | undefined {
    if (input.validity.badInput) throw new SettingsError(`${name} must be a number.`);
    const raw = input.value.trim();
    if (raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new SettingsError(`${name} must be a number.`);
    return value;
  }
}
