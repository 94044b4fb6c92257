/**
 * What a test starts (controllers, local-lm servers, fake backends), closed after each test whether it passed or
 * not, so a failed test leaves no socket or probe timer to the next one.
 */
import { afterEach } from 'vitest';

/** Anything a test starts that must be closed after it. Closing twice must be harmless. */
export interface Closable {
  close(): Promise<void> | void;
}

export interface StartedInTest {
  /** Closes `thing` after the current test; returns it. */
  add<T extends Closable>(thing: T): T;
}

/**
 * Registers an `afterEach` hook in the calling test file (or `describe`) that closes what was added, newest first:
 * a controller added after its backends closes before them, so its probes never see them go away.
 */
export function closeAfterEach(): StartedInTest {
  const open: Closable[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    // One failed close must not leave the rest open.
    for (const thing of open.splice(0).reverse()) {
      try {
        await thing.close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'closing what the test started failed');
  });
  return {
    add(thing) {
      open.push(thing);
      return thing;
    },
  };
}
