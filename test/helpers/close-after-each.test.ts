import { describe, expect, it } from 'vitest';
import { closeAfterEach } from './close-after-each.ts';

describe('closeAfterEach', () => {
  const started = closeAfterEach();
  const closed: string[] = [];
  const closable = (name: string) => ({
    name,
    async close() {
      await new Promise((r) => setTimeout(r, 1));
      closed.push(name);
    },
  });

  it('returns what it is given and closes nothing during the test', () => {
    const backend = started.add(closable('backend'));
    started.add(closable('controller'));
    expect(backend.name).toBe('backend');
    expect(closed).toEqual([]);
  });

  it('closed it after the test, newest first, each once', () => {
    expect(closed).toEqual(['controller', 'backend']);
  });

  it('closes nothing after a test that added nothing', () => {
    expect(closed).toEqual(['controller', 'backend']);
  });
});
