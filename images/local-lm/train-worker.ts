/**
 * @module
 * Worker-thread entry: trains one model spec and posts the serialized model back (transferring its memory).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelSpec } from './model-specs.ts';
import { trainFromSpec } from './models.ts';

const buf = trainFromSpec(workerData as ModelSpec);
const copy = new Uint8Array(buf.byteLength);
copy.set(buf);
parentPort?.postMessage(copy, [copy.buffer]);
