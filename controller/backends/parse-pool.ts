/**
 * @module
 * Reads scoring answers off the event loop: a pool of worker threads (sized to the cores) runs the fast parser on
 * the raw bytes, which are transferred to the worker and come back as typed arrays (`PackedChoices`), so a
 * megabyte of logprob JSON never blocks the requests the main thread is serving. Small answers are read in
 * place, where a round trip to a worker would cost more than the parse. Workers start on first use and do not
 * keep the process alive. If workers cannot start (an unusual runtime), every answer is read in place.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { parseScoredChoiceBytes } from './fast-completion-parser.ts';
import { unpackChoices } from './packed-choices.ts';
import type { ParseReply, ParseRequest } from './parse-worker.ts';
import type { ScoredChoice } from './scored-choice.ts';

/** Source of the worker, defined by the controller bundle (scripts/build-bundle.ts); absent when run from source. */
declare const __EP_PARSE_WORKER_SOURCE__: string | undefined;

export interface ParsePoolOptions {
  /**
   * Worker threads. @default os.availableParallelism() − 1 (at least 1): with the main thread, one thread per
   * core; each worker costs ~10 MiB of resident memory.
   */
  readonly threads?: number;
  /** Answers smaller than this many bytes are read on the calling thread (≲ 1 ms). @default 131072 */
  readonly minWorkerBytes?: number;
}

/** What a parse gives: the choices, or `undefined` when the fast parser does not know the body (`bytes` is it). */
export interface ParseOutcome {
  readonly choices: ScoredChoice[] | undefined;
  /** The body (still readable: it came back from the worker when the worker could not read it). */
  readonly bytes: Buffer;
}

/**
 * A parse makes little garbage (the body and the answer are outside the V8 heap), so a small young generation
 * serves it: V8's default (16 MiB semi-spaces) would add tens of MiB of resident memory per thread. The old
 * generation only ever holds the parser's code and scratch space.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

interface Pending {
  resolve(outcome: ParseOutcome): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Whether it has answered once (a worker that fails before that cannot run here at all). */
  worked: boolean;
}

export class ParsePool {
  readonly #threads: number;
  readonly #minWorkerBytes: number;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #disabled = false;

  constructor(options: ParsePoolOptions = {}) {
    this.#threads = Math.max(1, options.threads ?? availableParallelism() - 1);
    this.#minWorkerBytes = options.minWorkerBytes ?? 128 * 1024;
  }

  /** Worker threads running now. */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * Reads a `/v1/completions` scoring answer of `expected` choices (`texts`: with each token's decoded text).
   * The body's memory may be handed to a worker (transferred): use the returned `bytes`, not the argument,
   * afterwards.
   * @rejects when a worker fails while reading (the body is lost with it)
   */
  parse(body: Buffer, expected: number, texts = false): Promise<ParseOutcome> {
    const slot =
      body.length < this.#minWorkerBytes || this.#disabled ? undefined : this.#leastBusy();
    if (!slot) {
      return Promise.resolve({
        choices: parseScoredChoiceBytes(body, expected, texts),
        bytes: body,
      });
    }
    // Transfer when the Buffer owns its whole ArrayBuffer (undici's bodies do); otherwise copy it out.
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const buffer = whole
      ? (body.buffer as ArrayBuffer)
      : body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
    const id = this.#nextId++;
    return new Promise<ParseOutcome>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage(
        { id, body: buffer as ArrayBuffer, expected, texts } satisfies ParseRequest,
        [buffer as ArrayBuffer],
      );
    });
  }

  /** Stops the workers; parses still running fail. */
  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #leastBusy(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) if (!best || s.pending.size < best.pending.size) best = s;
    if ((!best || best.pending.size > 0) && this.#slots.length < this.#threads) {
      return this.#start() ?? best;
    }
    return best;
  }

  #start(): Slot | undefined {
    let worker: Worker;
    try {
      worker =
        typeof __EP_PARSE_WORKER_SOURCE__ === 'string'
          ? new Worker(__EP_PARSE_WORKER_SOURCE__, { eval: true, resourceLimits: WORKER_LIMITS })
          : new Worker(new URL('./parse-worker.mjs', import.meta.url), {
              resourceLimits: WORKER_LIMITS,
            });
    } catch {
      this.#disabled = true;
      return undefined;
    }
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), worked: false };
    worker.on('message', (reply: ParseReply) => {
      slot.worked = true;
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if ('packed' in reply)
        p.resolve({ choices: unpackChoices(reply.packed), bytes: Buffer.alloc(0) });
      else if ('unknown' in reply)
        p.resolve({ choices: undefined, bytes: Buffer.from(reply.unknown) });
      else p.reject(new Error(`parse worker: ${reply.error}`));
    });
    const fail = (err: Error) => {
      if (!slot.worked) this.#disabled = true;
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parse worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }
}

let shared: ParsePool | undefined;

/** The process's pool, shared by every backend client. */
export function sharedParsePool(): ParsePool {
  return (shared ??= new ParsePool());
}
