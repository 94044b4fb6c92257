/**
 * @module
 * The API key field: filled from this tab's storage (or the device's, when the user chose to be remembered),
 * saved as it is typed.
 */
import { byId } from './dom.ts';
import { keyStorage } from './key-storage.ts';

/** Mounts the key controls and returns a reader of the current key. */
export function mountKeyField(): () => string {
  const input = byId<HTMLInputElement>('api-key');
  const remember = byId<HTMLInputElement>('remember-key');
  const forget = byId<HTMLButtonElement>('forget-key');
  const store = keyStorage(sessionStorage, localStorage);

  const saved = store.load();
  if (saved) {
    input.value = saved.key;
    remember.checked = saved.remembered;
  }
  const save = () => store.save(input.value.trim(), remember.checked);
  input.addEventListener('input', save);
  remember.addEventListener('change', save);
  forget.addEventListener('click', () => {
    store.forget();
    input.value = '';
    remember.checked = false;
    input.focus();
  });
  return () => input.value;
}
