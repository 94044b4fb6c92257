/**
 * @module
 * Bounds the `key_id` label: the first `max` distinct key ids seen keep their own series, later ones share
 * "other". Key ids are public (never the secret), but an installation may mint keys without end, and every
 * label value is a series Prometheus keeps forever.
 */

/** Label value of key ids past the cap. */
export const OTHER_KEY_ID = 'other';

export class KeyIdLabels {
  readonly #max: number;
  readonly #seen = new Set<string>();

  /** @param max distinct key ids with their own label value */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`maxKeyIds must be a non-negative integer, got ${max}`);
    }
    this.#max = max;
  }

  /** The label value for `keyId`: itself while there is room (or once admitted), else "other". */
  label(keyId: string | undefined): string {
    // Requests that never reached the auth middleware (404s, open routes) have no key.
    const id = keyId ?? 'none';
    if (this.#seen.has(id)) return id;
    if (this.#seen.size < this.#max && id !== OTHER_KEY_ID) {
      this.#seen.add(id);
      return id;
    }
    return OTHER_KEY_ID;
  }
}
