/**
 * @module
 * Turns a request's model choice (names, quorum, weights) into schedulers, with a 4xx naming the field for
 * anything the caller got wrong, and builds the request's cancellation signal.
 */
import { setMaxListeners } from 'node:events';
import type { ControllerConfig } from '../../config.ts';
import type { ModelScheduler } from '../../scheduler/model-scheduler.ts';
import type { ModelRegistry } from '../../models/model-registry.ts';
import { utf8Bytes } from '../../scoring/text-stats.ts';
import { ApiError } from '../errors.ts';

export interface ModelSelection {
  schedulers: ModelScheduler[];
  /** Requested but not discovered yet. */
  unavailable: string[];
  weights: Map<string, number>;
  minModels: number;
}

export function resolveModels(
  registry: ModelRegistry,
  config: ControllerConfig,
  request: {
    models?: string[] | undefined;
    minModels?: number | undefined;
    weights?: Record<string, number> | undefined;
  },
  param = { models: 'models', minModels: 'min_models', weights: 'weights' },
): ModelSelection {
  const names = request.models ?? registry.names;
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (!registry.models.has(name)) {
      throw new ApiError(
        404,
        'model_not_found',
        `unknown model "${name}"; GET /v1/models lists the models`,
        {
          param: `${param.models}[${i}]`,
        },
      );
    }
    if (seen.has(name)) {
      throw new ApiError(400, 'invalid_request', `model "${name}" is listed twice`, {
        param: `${param.models}[${i}]`,
      });
    }
    seen.add(name);
  });
  const minModels = request.minModels ?? Math.min(config.minModels ?? names.length, names.length);
  if (minModels > names.length) {
    throw new ApiError(
      400,
      'invalid_request',
      `min_models is ${minModels} but only ${names.length} models are requested`,
      {
        param: param.minModels,
      },
    );
  }
  const weights = new Map<string, number>();
  for (const name of names) weights.set(name, registry.models.get(name)?.config.weight ?? 1);
  for (const [name, weight] of Object.entries(request.weights ?? {})) {
    if (!seen.has(name)) {
      throw new ApiError(
        400,
        'invalid_request',
        `weight given for model "${name}", which is not requested`,
        {
          param: `${param.weights}.${name}`,
        },
      );
    }
    weights.set(name, weight);
  }
  const schedulers: ModelScheduler[] = [];
  const unavailable: string[] = [];
  for (const name of names) {
    const scheduler = registry.scheduler(name);
    if (scheduler) schedulers.push(scheduler);
    else unavailable.push(name);
  }
  if (schedulers.length < minModels) {
    throw new ApiError(
      503,
      'models_not_ready',
      `${schedulers.length} of the requested models are ready, ${minModels} required (not ready: ${unavailable.join(', ')})`,
      { headers: { 'retry-after': '10' } },
    );
  }
  return { schedulers, unavailable, weights, minModels };
}

export function checkTotalBytes(texts: readonly string[], max: number, param: string): void {
  let total = 0;
  for (const t of texts) total += utf8Bytes(t);
  if (total > max) {
    throw new ApiError(
      413,
      'payload_too_large',
      `the texts hold ${total} UTF-8 bytes; at most ${max} per request`,
      {
        param,
      },
    );
  }
}

/** Aborts when the client goes away or the deadline passes (reason `TimeoutError`). */
export function requestSignal(
  clientSignal: AbortSignal | undefined,
  timeoutMs: number,
): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = clientSignal ? AbortSignal.any([clientSignal, deadline]) : deadline;
  // Every queued prompt of the request listens on this one signal.
  setMaxListeners(0, signal);
  return signal;
}
