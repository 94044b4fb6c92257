/**
 * @module
 * CLI / container entry: one model per process, like one vLLM container per GPU.
 *
 *   tsx images/local-lm/main.ts --model llama-sotu --port 8001 [--host 0.0.0.0] [--max-model-len 2048]
 *       [--timing l4-goal-bf16] [--controls] [--error-format old] [--train-only] [--engine ngram]
 *
 * `--train-only` trains (or verifies the cache of) the model(s) and exits: used at image build time.
 * `--engine instant|scripted` serves that engine (Llama style) under the `--model` name instead of an n-gram
 * model.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_NAMES } from './model-specs.ts';
import { instantEngine } from './engines/instant.ts';
import type { ModelEngine } from './engines/model-engine.ts';
import { scriptedEngine } from './engines/scripted.ts';
import { loadModel } from './models.ts';
import { startLocalLm } from './server/local-lm-server.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: process.env.EP_LOCAL_LM_MODEL ?? 'llama-sotu' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT ?? '8000' },
    'max-model-len': { type: 'string', default: '2048' },
    timing: { type: 'string' },
    controls: { type: 'boolean', default: false },
    'error-format': { type: 'string', default: 'new' },
    'train-only': { type: 'boolean', default: false },
    engine: { type: 'string', default: 'ngram' },
  },
});

function engineFor(kind: string, name: string): ModelEngine | string {
  if (kind === 'ngram') return name;
  if (kind === 'instant') return instantEngine({ name });
  if (kind === 'scripted') return scriptedEngine({ name });
  throw new Error('--engine must be ngram, instant or scripted');
}

async function main(): Promise<void> {
  if (values['train-only']) {
    const names = values.model === 'all' ? DEFAULT_MODEL_NAMES : [values.model];
    const t0 = performance.now();
    await Promise.all(names.map((n) => loadModel(n)));
    console.log(`local-lm: ${names.join(', ')} ready in ${Math.round(performance.now() - t0)} ms`);
    return;
  }
  const errorFormat = values['error-format'];
  if (errorFormat !== 'new' && errorFormat !== 'old')
    throw new Error('--error-format must be new or old');
  const server = await startLocalLm({
    model: engineFor(values.engine, values.model),
    host: values.host,
    port: Number(values.port),
    maxModelLen: Number(values['max-model-len']),
    timing: values.timing ?? null,
    controls: values.controls,
    errorFormat,
  });
  console.log(`local-lm: serving ${server.servedName} at ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`local-lm: ${(err as Error).message}`);
  process.exit(1);
});
