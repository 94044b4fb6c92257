/**
 * @module
 * One model engine behind a vLLM-compatible HTTP server on plain node:http (raw socket control is needed for
 * the faults: refusing connections on the same port, dying mid-response, hanging). Counts requests received,
 * completed and cancelled (client gone before the reply was written). The only vLLM-shaped server of the
 * project: local stacks, tests and benchmarks differ only in the engine and options they start it with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelEngine } from '../engines/model-engine.ts';
import { loadModel } from '../models.ts';
import { ChoiceCache } from './choice-cache.ts';
import { handleControl } from './control.ts';
import { GpuEmulator } from './gpu-emulator.ts';
import { VllmError, type ErrorFormat } from './errors.ts';
import { FaultState, parseFaultSpec, type FaultControls, type FaultSpec } from './faults.ts';
import { sendReply, type Reply } from './http-io.ts';
import { Listener } from './listener.ts';
import type { ReleaseQuirks } from './release-quirks.ts';
import { dispatch, errorReply, type CompletionExchange, type RouteContext } from './routes.ts';
import { resolveTimingProfile, type TimingProfile } from './timing-profiles.ts';

export interface LocalLmOptions {
  /**
   * The engine to serve (an n-gram model, `instantEngine(...)`, `scriptedEngine(...)`), or the served name of a
   * default n-gram model (loaded from the cache or trained).
   */
  model: ModelEngine | string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 lets the OS choose. @default 0 */
  port?: number;
  /** Context length reported and enforced. @default 2048 */
  maxModelLen?: number;
  /** Enables `/_control/*` (faults and stats over HTTP). @default false */
  controls?: boolean;
  /** GPU timing emulation (profile or its name). @default - off: answer as fast as the CPU can */
  timing?: TimingProfile | string | null;
  /** Error body layout: vLLM's current nested one or the older flat one. @default 'new' */
  errorFormat?: ErrorFormat;
  /** Model cache directory when `model` is a name. @default - see defaultCacheDir() */
  cacheDir?: string;
  /** Behaviours of particular vLLM releases to reproduce. @default - none */
  quirks?: ReleaseQuirks;
  /** Sees each completion's request and response body as soon as the body is ready (before GPU time). */
  onCompletion?: (exchange: CompletionExchange) => void;
  /**
   * Keep the rendered choices of this many recent text prompts and answer repeats from memory, so a benchmark
   * can warm the server and then measure only its client. @default 0 - off: every request is computed
   */
  choiceCacheSize?: number;
}

export interface LocalLmStats {
  received: number;
  completed: number;
  cancelled: number;
  running: number;
  waiting: number;
  /** Requests received per path. */
  byPath: Record<string, number>;
}

export interface LocalLmServer {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly servedName: string;
  readonly model: ModelEngine;
  readonly faults: FaultControls;
  stats(): LocalLmStats;
  /** Stops listening and destroys every open socket (hanging requests included). */
  close(): Promise<void>;
}

export async function startLocalLm(opts: LocalLmOptions): Promise<LocalLmServer> {
  const model =
    typeof opts.model === 'string'
      ? await loadModel(opts.model, { cacheDir: opts.cacheDir })
      : opts.model;
  const host = opts.host ?? '127.0.0.1';
  const maxModelLen = opts.maxModelLen ?? 2048;
  if (!Number.isInteger(maxModelLen) || maxModelLen < 2) {
    throw new Error(`maxModelLen must be an integer ≥ 2, got ${maxModelLen}`);
  }
  const errorFormat = opts.errorFormat ?? 'new';
  const gpu = opts.timing ? new GpuEmulator(resolveTimingProfile(opts.timing)) : null;

  const stats = { received: 0, completed: 0, cancelled: 0, byPath: {} as Record<string, number> };
  const counters = { promptTokens: 0, success: 0, computing: 0 };
  const ctx: RouteContext = {
    model,
    maxModelLen,
    errorFormat,
    gpu,
    quirks: opts.quirks ?? {},
    onCompletion: opts.onCompletion,
    choiceCache: opts.choiceCacheSize ? new ChoiceCache(opts.choiceCacheSize) : undefined,
    createdAt: Math.floor(Date.now() / 1000),
    // Without the timing model the CPU is the GPU: a completion being computed is "running".
    gauges: () =>
      gpu
        ? { running: gpu.running, waiting: gpu.waiting }
        : { running: counters.computing, waiting: 0 },
    counters,
  };

  const hung = new Set<() => void>();
  const releaseHung = () => {
    for (const release of [...hung]) release();
  };
  let closed = false;
  const listener = new Listener((req, res) => void handle(req, res), host, opts.port ?? 0);
  const relisten = () => (closed ? Promise.resolve() : listener.listen());

  const state = new FaultState((why) => {
    const wasRefusing = state.current?.kind === 'refuse';
    state.reset();
    if (why === 'timer') releaseHung();
    // The port may have been taken meanwhile; then the server stays down, as a crashed vLLM would.
    if (wasRefusing) relisten().catch(() => undefined);
  });

  const faults: FaultControls = {
    get current() {
      return state.current;
    },
    async set(spec: FaultSpec | string) {
      const parsed = parseFaultSpec(spec);
      if (typeof parsed === 'string') throw new Error(parsed);
      const wasRefusing = state.current?.kind === 'refuse';
      state.install(parsed);
      if (parsed.kind === 'refuse') await listener.stop();
      else if (wasRefusing) await relisten();
    },
    async clear() {
      const wasRefusing = state.current?.kind === 'refuse';
      state.reset();
      releaseHung();
      if (wasRefusing) await relisten();
    },
  };

  /** Resolves true when a hung request is released by clear(), false when its client went away. */
  const hang = (signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      const release = () => {
        hung.delete(release);
        resolve(true);
      };
      hung.add(release);
      signal.addEventListener('abort', () => {
        hung.delete(release);
        resolve(false);
      });
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path.startsWith('/_control/')) {
      return handleControl(req, res, path, { enabled: !!opts.controls, faults, stats: api.stats });
    }
    stats.received++;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    let droppedByUs = false;
    const abort = new AbortController();
    res.on('close', () => {
      if (res.writableFinished) return;
      abort.abort(new Error('client closed the connection'));
      if (!droppedByUs && !closed) stats.cancelled++;
    });
    res.on('finish', () => stats.completed++);

    const fault = state.take(path);
    let reply: Reply;
    try {
      if (fault?.kind === 'hang' && !((await hang(abort.signal)) && !closed)) return;
      if (fault?.kind === 'status503') {
        const err = new VllmError(503, 'The engine is unavailable (fault injected).');
        reply =
          path === '/health'
            ? { status: 503, body: '', contentType: 'text/plain' }
            : errorReply(err, errorFormat);
      } else {
        const negInf = fault?.kind === 'negInf' ? (fault.position ?? 1) : null;
        reply = await dispatch(ctx, req, path, abort.signal, negInf);
      }
    } catch (err) {
      const e =
        err instanceof VllmError ? err : new VllmError(500, (err as Error).message ?? String(err));
      reply = errorReply(e, errorFormat);
    }
    if (abort.signal.aborted) return;
    sendReply(res, reply, fault, () => (droppedByUs = true));
  }

  await listener.listen();

  const api: LocalLmServer = {
    get url() {
      return `http://${host.includes(':') ? `[${host}]` : host}:${listener.port}`;
    },
    get port() {
      return listener.port;
    },
    servedName: model.name,
    model,
    faults,
    stats() {
      const g = ctx.gauges();
      return { ...stats, byPath: { ...stats.byPath }, running: g.running, waiting: g.waiting };
    },
    async close() {
      if (closed) return;
      closed = true;
      state.reset();
      gpu?.close();
      releaseHung();
      await listener.stop();
    },
  };
  return api;
}
