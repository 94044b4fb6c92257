/**
 * @module
 * The vLLM endpoints as functions from a request to a reply (status + body). The HTTP layer
 * (local-lm-server.ts) owns sockets, faults and counters; nothing here writes to a socket.
 */
import type { IncomingMessage } from 'node:http';
import type { ModelEngine } from '../engines/model-engine.ts';
import type { ChoiceCache } from './choice-cache.ts';
import { planCompletion } from './completion-request.ts';
import { completionResponse } from './completion-response.ts';
import type { GpuEmulator } from './gpu-emulator.ts';
import { badRequest, errorBody, VllmError, type ErrorFormat } from './errors.ts';
import { JSON_TYPE, readBody, type Reply } from './http-io.ts';
import type { ReleaseQuirks } from './release-quirks.ts';

/** One answered completion, for observers such as a test's request log. */
export interface CompletionExchange {
  readonly request: Record<string, unknown>;
  /** The response body as written (before any fault garbles it). */
  readonly response: string;
}

export interface RouteContext {
  model: ModelEngine;
  maxModelLen: number;
  errorFormat: ErrorFormat;
  /** GPU time emulation, or null to answer as fast as the CPU can. */
  gpu: GpuEmulator | null;
  quirks: ReleaseQuirks;
  /** Rendered choices of recent text prompts, when the server keeps them. */
  choiceCache?: ChoiceCache;
  /** Sees each completion's request and response body as soon as the body is ready. */
  onCompletion?: (exchange: CompletionExchange) => void;
  createdAt: number;
  gauges(): { running: number; waiting: number };
  /** Totals for /metrics, and completions being computed (the "running" gauge when no GPU is emulated). */
  counters: { promptTokens: number; success: number; computing: number };
}

/** What `GET /version` reports. */
export const LOCAL_LM_VERSION = '0.31.0+local-lm';

const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: JSON_TYPE,
});

export function errorReply(err: VllmError, format: ErrorFormat): Reply {
  return { status: err.status, body: errorBody(err, format), contentType: JSON_TYPE };
}

function checkModel(ctx: RouteContext, body: Record<string, unknown>): void {
  const name = body.model;
  if (name !== undefined && name !== null && name !== ctx.model.name) {
    throw new VllmError(404, `The model \`${String(name)}\` does not exist.`, 'model');
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function modelsReply(ctx: RouteContext): Reply {
  return json(200, {
    object: 'list',
    data: [
      {
        id: ctx.model.name,
        object: 'model',
        created: ctx.createdAt,
        owned_by: 'vllm',
        root: ctx.model.root,
        parent: null,
        max_model_len: ctx.maxModelLen,
        permission: [
          {
            id: `modelperm-${ctx.model.name}`,
            object: 'model_permission',
            created: ctx.createdAt,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  });
}

export function tokenizeReply(ctx: RouteContext, raw: unknown): Reply {
  const body = asObject(raw);
  checkModel(ctx, body);
  if (typeof body.prompt !== 'string') throw badRequest('prompt must be a string', 'prompt');
  const add = body.add_special_tokens ?? true;
  const strs = body.return_token_strs ?? false;
  if (typeof add !== 'boolean')
    throw badRequest('add_special_tokens must be a boolean', 'add_special_tokens');
  if (typeof strs !== 'boolean')
    throw badRequest('return_token_strs must be a boolean', 'return_token_strs');
  const tokens = ctx.model.tokenizer.encode(body.prompt, add);
  if (ctx.quirks.tokenizeRejectsOverlong && tokens.length > ctx.maxModelLen) {
    throw badRequest(
      `This model's maximum context length is ${ctx.maxModelLen} tokens. However, your request has ` +
        `${tokens.length} input tokens. Please reduce the length of the input messages.`,
      'max_model_len',
    );
  }
  return json(200, {
    count: tokens.length,
    max_model_len: ctx.maxModelLen,
    tokens,
    token_strs: strs ? tokens.map((t) => ctx.model.tokenizer.tokenStr(t)) : null,
  });
}

export function detokenizeReply(ctx: RouteContext, raw: unknown): Reply {
  const body = asObject(raw);
  checkModel(ctx, body);
  const tokens = body.tokens;
  if (
    !Array.isArray(tokens) ||
    !tokens.every((t) => typeof t === 'number' && Number.isInteger(t))
  ) {
    throw badRequest('tokens must be a list of integers', 'tokens');
  }
  for (const t of tokens as number[]) {
    if (t < 0 || t >= ctx.model.tokenizer.vocabSize)
      throw badRequest(`Token id ${t} is out of vocabulary`, 'tokens');
  }
  return json(200, { prompt: ctx.model.tokenizer.decode(tokens as number[]) });
}

export async function completionsReply(
  ctx: RouteContext,
  raw: unknown,
  signal: AbortSignal,
  negInfPosition: number | null,
): Promise<Reply> {
  // Before tokenizing: the emulated GPU's time counts from the call's arrival.
  const arrivedAt = ctx.gpu?.now();
  const plan = planCompletion(raw, ctx.model, ctx.maxModelLen);
  ctx.counters.computing++;
  try {
    const options = { negInfPosition, quirks: ctx.quirks, cache: ctx.choiceCache };
    const compute = completionResponse(ctx.model, plan, options, signal).then((response) => {
      ctx.onCompletion?.({ request: raw as Record<string, unknown>, response });
      return response;
    });
    // With the timing model, the CPU work overlaps the emulated GPU time and the reply waits for both
    // (Promise.all also handles a late rejection of the other one, e.g. on abort).
    const tokens = plan.prompts.map((p) => p.tokens.length);
    const [body] = await Promise.all([compute, ctx.gpu?.run(tokens, signal, arrivedAt)]);
    signal.throwIfAborted();
    ctx.counters.promptTokens += tokens.reduce((a, t) => a + t, 0);
    ctx.counters.success += plan.prompts.length;
    return { status: 200, body, contentType: JSON_TYPE };
  } finally {
    ctx.counters.computing--;
  }
}

export function metricsReply(ctx: RouteContext): Reply {
  const { running, waiting } = ctx.gauges();
  const labels = `engine="0",model_name="${ctx.model.name}"`;
  const lines = [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{${labels}} ${running.toFixed(1)}`,
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{${labels}} ${waiting.toFixed(1)}`,
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{${labels}} 0.0`,
    '# HELP vllm:prompt_tokens_total Number of prefill tokens processed.',
    '# TYPE vllm:prompt_tokens_total counter',
    `vllm:prompt_tokens_total{${labels}} ${ctx.counters.promptTokens.toFixed(1)}`,
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{${labels},finished_reason="length"} ${ctx.counters.success.toFixed(1)}`,
    '',
  ];
  return {
    status: 200,
    body: lines.join('\n'),
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
  };
}

/** Method of each vLLM route; anything else is FastAPI's 404, a wrong method its 405. */
const ROUTES: Record<string, 'GET' | 'POST'> = {
  '/health': 'GET',
  '/version': 'GET',
  '/v1/models': 'GET',
  '/metrics': 'GET',
  '/tokenize': 'POST',
  '/detokenize': 'POST',
  '/v1/completions': 'POST',
};

/** Routes one request; throws VllmError for vLLM-style failures. */
export async function dispatch(
  ctx: RouteContext,
  req: IncomingMessage,
  path: string,
  signal: AbortSignal,
  negInfPosition: number | null,
  poisonMarker: string | null = null,
): Promise<Reply> {
  const method = ROUTES[path];
  if (!method) return json(404, { detail: 'Not Found' });
  if (req.method !== method) return json(405, { detail: 'Method Not Allowed' });
  if (path === '/health') return { status: 200, body: '', contentType: 'text/plain' };
  if (path === '/version') return json(200, { version: LOCAL_LM_VERSION });
  if (path === '/v1/models') return modelsReply(ctx);
  if (path === '/metrics') return metricsReply(ctx);
  let body: unknown;
  const raw = await readBody(req);
  if (poisonMarker !== null && raw.includes(poisonMarker)) {
    throw new VllmError(
      500,
      `EngineCore failed on input ${JSON.stringify(poisonMarker)} (fault injected)`,
    );
  }
  try {
    body = JSON.parse(raw);
  } catch {
    throw badRequest('request body is not valid JSON');
  }
  if (path === '/tokenize') return tokenizeReply(ctx, body);
  if (path === '/detokenize') return detokenizeReply(ctx, body);
  return completionsReply(ctx, body, signal, negInfPosition);
}
