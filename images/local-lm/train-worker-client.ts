/**
 * @module
 * Runs `trainFromSpec` in a worker thread. The worker entry is TypeScript, so a small JS bootstrap registers tsx's
 * loader inside the worker first (`--import tsx` in execArgv is not honoured by workers on Node 20); callers fall
 * back to training on their own thread if that fails.
 */
import { Worker } from 'node:worker_threads';
import type { ModelSpec } from './model-specs.ts';

export function trainInWorkerThread(spec: ModelSpec): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./train-worker.mjs', import.meta.url), {
      workerData: spec,
    });
    let done = false;
    worker.once('message', (msg: Uint8Array) => {
      done = true;
      resolvePromise(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (!done) reject(err);
    });
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`training worker for ${spec.name} exited with code ${code}`));
    });
  });
}
