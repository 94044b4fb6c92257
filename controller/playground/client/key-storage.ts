/**
 * @module
 * Where the API key is kept in the browser: this tab's sessionStorage by default, localStorage only when the
 * user ticks "remember on this device". Never in the URL. Storages are passed in, so this is testable without
 * a browser.
 */

export const KEY_ITEM = 'ep.apiKey';

export interface KeyStorage {
  /** The remembered key: this tab's first, then this device's. */
  load(): { key: string; remembered: boolean } | undefined;
  save(key: string, remember: boolean): void;
  forget(): void;
}

/** The part of the Web Storage API used here (sessionStorage, localStorage). */
interface Store {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function keyStorage(session: Store, local: Store): KeyStorage {
  return {
    load() {
      const remembered = local.getItem(KEY_ITEM);
      const key = session.getItem(KEY_ITEM) ?? remembered;
      return key ? { key, remembered: remembered !== null } : undefined;
    },
    save(key, remember) {
      if (!key) return this.forget();
      session.setItem(KEY_ITEM, key);
      if (remember) local.setItem(KEY_ITEM, key);
      else local.removeItem(KEY_ITEM);
    },
    forget() {
      session.removeItem(KEY_ITEM);
      local.removeItem(KEY_ITEM);
    },
  };
}
