/**
 * @module
 * The adversarial scenarios `npm run bench -- --adversarial` runs, in this order. Add a scenario by writing
 * `scripts/lib/adversarial/<name>.ts` exporting an `AdversarialScenario` and listing it here.
 */
import { frozenReplica } from './frozen-replica.ts';
import { idleSockets } from './idle-sockets.ts';
import { keyWriters } from './key-writers.ts';
import { keylessUploads } from './keyless-uploads.ts';
import { overload } from './overload.ts';
import { poisonInput } from './poison-input.ts';
import type { AdversarialScenario } from './scenario.ts';
import { slowBody } from './slow-body.ts';
import { streamStall } from './stream-stall.ts';

export const ADVERSARIAL_SCENARIOS: readonly AdversarialScenario[] = [
  keylessUploads,
  slowBody,
  idleSockets,
  streamStall,
  keyWriters,
  poisonInput,
  frozenReplica,
  overload,
];
