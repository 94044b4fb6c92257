import { describe, expect, it } from 'vitest';
import { KEY_ITEM, keyStorage } from '../../../../controller/playground/client/key-storage.ts';

function memory() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
}

describe('key storage', () => {
  it('keeps the key for this tab only unless the user asks to be remembered', () => {
    const session = memory();
    const local = memory();
    const store = keyStorage(session, local);
    store.save('ep_a', false);
    expect(session.items.get(KEY_ITEM)).toBe('ep_a');
    expect(local.items.size).toBe(0);
    store.save('ep_a', true);
    expect(local.items.get(KEY_ITEM)).toBe('ep_a');
    expect(keyStorage(memory(), local).load()).toEqual({ key: 'ep_a', remembered: true });
    store.save('ep_a', false);
    expect(local.items.size).toBe(0);
  });

  it('forgets everywhere, also when the field is emptied', () => {
    const session = memory();
    const local = memory();
    const store = keyStorage(session, local);
    store.save('ep_b', true);
    store.save('', true);
    expect(session.items.size + local.items.size).toBe(0);
    expect(store.load()).toBeUndefined();
  });
});
