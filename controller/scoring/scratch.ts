/**
 * @module
 * Where the detection math gets its typed arrays. Every text needs a few arrays per model (token offsets,
 * running sums over its characters) that live only while its figures are computed; made fresh, each one is a
 * separate allocation outside the JS heap, which on a busy server fragments memory and keeps the resident size
 * high long after the arrays are garbage. A `ScratchArrays` hands out views of a few large buffers instead and
 * takes them all back at once.
 */

/** Hands out zero-filled arrays. */
export interface ArraySource {
  float64(length: number): Float64Array;
  int32(length: number): Int32Array;
}

/** New arrays every time: for callers that keep what they get. */
export const FRESH_ARRAYS: ArraySource = {
  float64: (length) => new Float64Array(length),
  int32: (length) => new Int32Array(length),
};

/** One reused buffer of one element type, handed out in consecutive views. */
class Slab<T extends Float64Array | Int32Array> {
  readonly #make: (length: number) => T;
  #buffer: T;
  #used = 0;

  constructor(make: (length: number) => T, initial: number) {
    this.#make = make;
    this.#buffer = make(initial);
  }

  reset(): void {
    this.#used = 0;
  }

  take(length: number): T {
    if (this.#used + length > this.#buffer.length) {
      // A new buffer; views of the old one stay valid until they are dropped.
      this.#buffer = this.#make(Math.max(2 * this.#buffer.length, length));
      this.#used = 0;
    }
    const view = this.#buffer.subarray(this.#used, this.#used + length) as T;
    this.#used += length;
    return view.fill(0) as T;
  }
}

/**
 * Views of reused buffers. Everything handed out since the last `reset()` stays valid until the next one; the
 * caller must not keep any of it past that (copy numbers out, not arrays).
 */
export class ScratchArrays implements ArraySource {
  readonly #f64: Slab<Float64Array>;
  readonly #i32: Slab<Int32Array>;

  /** @param initial elements of each buffer before it first grows */
  constructor(initial = 16_384) {
    this.#f64 = new Slab(FRESH_ARRAYS.float64, initial);
    this.#i32 = new Slab(FRESH_ARRAYS.int32, initial);
  }

  /** Takes every array back: they will be handed out again. */
  reset(): void {
    this.#f64.reset();
    this.#i32.reset();
  }

  float64(length: number): Float64Array {
    return this.#f64.take(length);
  }

  int32(length: number): Int32Array {
    return this.#i32.take(length);
  }
}
