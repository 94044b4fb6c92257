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

/**
 * Views of reused buffers. Everything handed out since the last `reset()` stays valid until the next one; the
 * caller must not keep any of it past that (copy numbers out, not arrays).
 */
export class ScratchArrays implements ArraySource {
  #f64: Float64Array;
  #f64Used = 0;
  #i32: Int32Array;
  #i32Used = 0;

  /** @param initial elements of each buffer before it first grows */
  constructor(initial = 16_384) {
    this.#f64 = new Float64Array(initial);
    this.#i32 = new Int32Array(initial);
  }

  /** Takes every array back: they will be handed out again. */
  reset(): void {
    this.#f64Used = 0;
    this.#i32Used = 0;
  }

  float64(length: number): Float64Array {
    if (this.#f64Used + length > this.#f64.length) {
      // A new buffer; views of the old one stay valid until they are dropped.
      this.#f64 = new Float64Array(Math.max(2 * this.#f64.length, length));
      this.#f64Used = 0;
    }
    const view = this.#f64.subarray(this.#f64Used, this.#f64Used + length);
    this.#f64Used += length;
    return view.fill(0);
  }

  int32(length: number): Int32Array {
    if (this.#i32Used + length > this.#i32.length) {
      this.#i32 = new Int32Array(Math.max(2 * this.#i32.length, length));
      this.#i32Used = 0;
    }
    const view = this.#i32.subarray(this.#i32Used, this.#i32Used + length);
    this.#i32Used += length;
    return view.fill(0);
  }
}
