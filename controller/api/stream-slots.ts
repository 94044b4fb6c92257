/**
 * @module
 * `StreamSlots`: how many NDJSON streams may be open at once, per key and in all. A stream holds its parsed body
 * (up to `maxStreamBodyBytes`) until its last line, so their number, not only their rate, bounds memory.
 */
import { ApiError } from './errors.ts';

export interface StreamSlotLimits {
  /** Streams open at once over all keys (503 beyond). */
  readonly total: number;
  /** Streams one key may have open at once (429 beyond). */
  readonly perKey: number;
}

export class StreamSlots {
  readonly #limits: StreamSlotLimits;
  readonly #byKey = new Map<string, number>();
  #open = 0;

  constructor(limits: StreamSlotLimits) {
    this.#limits = limits;
  }

  /** Streams open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * Takes a slot for `keyId`; call the returned function once when the stream ends (it ignores later calls).
   * @throws {ApiError} 429 `too_many_streams` over the key's limit, 503 `overloaded` over the total
   */
  acquire(keyId: string): () => void {
    const mine = this.#byKey.get(keyId) ?? 0;
    if (mine >= this.#limits.perKey) {
      throw new ApiError(
        429,
        'too_many_streams',
        `this API key already has ${mine} streams open (at most ${this.#limits.perKey}); finish one first`,
        { headers: { 'retry-after': '5' } },
      );
    }
    if (this.#open >= this.#limits.total) {
      throw new ApiError(
        503,
        'overloaded',
        `the server has ${this.#open} streams open (at most ${this.#limits.total}); retry later`,
        { headers: { 'retry-after': '5' } },
      );
    }
    this.#open += 1;
    this.#byKey.set(keyId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open -= 1;
      const left = (this.#byKey.get(keyId) ?? 1) - 1;
      if (left === 0) this.#byKey.delete(keyId);
      else this.#byKey.set(keyId, left);
    };
  }
}
