/**
 * @module
 * A view's status line: progress in a polite live region, failures in an alert, so screen readers announce both
 * and sighted users see errors in red.
 */
import { ApiError } from './api.ts';
import { h } from './dom.ts';

export interface StatusLine {
  busy(message: string): void;
  done(message: string): void;
  fail(err: unknown): void;
  clear(): void;
}

export function statusLine(container: HTMLElement): StatusLine {
  const status = h('p', { class: 'status', role: 'status' });
  const alert = h('p', { class: 'error', role: 'alert' });
  container.replaceChildren(status, alert);
  return {
    busy(message) {
      alert.textContent = '';
      status.textContent = message;
      container.dataset.state = 'busy';
    },
    done(message) {
      alert.textContent = '';
      status.textContent = message;
      container.dataset.state = 'done';
    },
    fail(err) {
      status.textContent = '';
      alert.textContent = errorWords(err);
      container.dataset.state = 'error';
    },
    clear() {
      status.textContent = '';
      alert.textContent = '';
      delete container.dataset.state;
    },
  };
}

/** A failure in words: the page's own messages as they are, API failures as ApiError words them. */
export function errorWords(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof ApiError || (err instanceof Error && err.name === 'SettingsError'))
    return err.message;
  if (err instanceof Error && err.name === 'AbortError') return 'Stopped.';
  return `Something went wrong in this page: ${err instanceof Error ? err.message : String(err)}`;
}
