/**
 * @module
 * What a rehearsal host runs where a vLLM container would: a local-lm server (a real small language model behind
 * vLLM's API) under the container's served model name, on the host port the container publishes. The n-th server
 * of a host gets the n-th local model, so the ensemble's members still disagree like real ones.
 *
 *   tsx scripts/rehearse/vllm-standin.ts --served-model-name phi-2 --port 8003 [--host 127.0.0.1]
 *       [--max-model-len 2048] [--index 2]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_NAMES } from '../../images/local-lm/model-specs.ts';
import { loadModel } from '../../images/local-lm/models.ts';
import { startLocalLm } from '../../images/local-lm/server/local-lm-server.ts';

const { values } = parseArgs({
  options: {
    'served-model-name': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'max-model-len': { type: 'string', default: '2048' },
    index: { type: 'string', default: '0' },
  },
});

const servedName = values['served-model-name'];
if (!servedName || !values.port) throw new Error('--served-model-name and --port are required');
const local = DEFAULT_MODEL_NAMES[Number(values.index) % DEFAULT_MODEL_NAMES.length]!;
const model = { ...(await loadModel(local)), name: servedName };
const server = await startLocalLm({
  model,
  host: values.host,
  port: Number(values.port),
  maxModelLen: Number(values['max-model-len']),
});
console.log(`vllm stand-in: local-lm ${local} serving ${servedName} at ${server.url}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
