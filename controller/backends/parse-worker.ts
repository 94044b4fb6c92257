/**
 * @module
 * Worker-thread entry of the parse pool: reads scoring answers with the fast parser and hands them back packed
 * in typed arrays, transferred rather than copied (the token texts, when asked for, come as one joined string).
 * A body the fast parser does not know goes back untouched (also transferred), and the main thread reads it
 * with `JSON.parse` for the exact error.
 * Messages in: `ParseRequest`; out: `ParseReply`.
 */
import { parentPort } from 'node:worker_threads';
import { parsePackedChoices } from './fast-completion-parser.ts';
import type { PackedChoices } from './packed-choices.ts';

export interface ParseRequest {
  readonly id: number;
  readonly body: ArrayBuffer;
  /** Choices the answer must have. */
  readonly expected: number;
  /** Read each token's decoded text too. */
  readonly texts: boolean;
}

export type ParseReply =
  | { readonly id: number; readonly packed: PackedChoices }
  | { readonly id: number; readonly unknown: ArrayBuffer }
  | { readonly id: number; readonly error: string };

parentPort?.on('message', (req: ParseRequest) => {
  try {
    const packed = parsePackedChoices(Buffer.from(req.body), req.expected, req.texts);
    if (!packed) {
      parentPort?.postMessage({ id: req.id, unknown: req.body } satisfies ParseReply, [req.body]);
      return;
    }
    const transfer = [
      packed.starts.buffer as ArrayBuffer,
      packed.ids.buffer as ArrayBuffer,
      packed.logprobs.buffer as ArrayBuffer,
    ];
    if (packed.texts) {
      transfer.push(packed.texts.starts.buffer as ArrayBuffer);
      if (packed.texts.missing) transfer.push(packed.texts.missing.buffer as ArrayBuffer);
    }
    parentPort?.postMessage({ id: req.id, packed } satisfies ParseReply, transfer);
  } catch (err) {
    parentPort?.postMessage({ id: req.id, error: String(err) } satisfies ParseReply);
  }
});
