/**
 * @module
 * One model behind a vLLM-compatible HTTP server on plain node:http (raw socket control is needed for the
 * faults: refusing connections on the same port, dying mid-response, hanging). Counts requests received,
 * completed and cancelled (client gone before the reply was written).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { loadModel, type LocalModel } from '../models.ts';
import { Engine } from './engine.ts';
import { badRequest, VllmError, type ErrorFormat } from './errors.ts';
import { FaultState, parseFaultSpec, type FaultControls, type FaultSpec } from './faults.ts';
import {
  completionsReply,
  detokenizeReply,
  errorReply,
  jsonReply,
  LOCAL_LM_VERSION,
  metricsReply,
  modelsReply,
  tokenizeReply,
  type Reply,
  type RouteContext,
} from './routes.ts';
import { resolveTimingProfile, type TimingProfile } from './timing-profiles.ts';

export interface LocalLmOptions {
  /** A model, or the served name of a default model (loaded from the cache or trained). */
  model: LocalModel | string;
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
  readonly model: LocalModel;
  readonly faults: FaultControls;
  stats(): LocalLmStats;
  /** Stops listening and destroys every open socket (hanging requests included). */
  close(): Promise<void>;
}

const ROUTES: Record<string, string> = {
  '/health': 'GET',
  '/version': 'GET',
  '/v1/models': 'GET',
  '/metrics': 'GET',
  '/tokenize': 'POST',
  '/detokenize': 'POST',
  '/v1/completions': 'POST',
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startLocalLm(opts: LocalLmOptions): Promise<LocalLmServer> {
  const model =
    typeof opts.model === 'string'
      ? await loadModel(opts.model, { cacheDir: opts.cacheDir })
      : opts.model;
  const host = opts.host ?? '127.0.0.1';
  const maxModelLen = opts.maxModelLen ?? 2048;
  if (!Number.isInteger(maxModelLen) || maxModelLen < 2)
    throw new Error(`maxModelLen must be an integer ≥ 2, got ${maxModelLen}`);
  const errorFormat = opts.errorFormat ?? 'new';
  const engine = opts.timing ? new Engine(resolveTimingProfile(opts.timing)) : null;

  const stats = { received: 0, completed: 0, cancelled: 0, byPath: {} as Record<string, number> };
  let computing = 0;
  const ctx: RouteContext = {
    model,
    maxModelLen,
    errorFormat,
    engine,
    createdAt: Math.floor(Date.now() / 1000),
    gauges: () => ({ running: (engine?.running ?? 0) + computing, waiting: engine?.waiting ?? 0 }),
    counters: { promptTokens: 0, success: 0 },
  };

  const sockets = new Set<Socket>();
  const hung = new Set<() => void>();
  const releaseHung = () => {
    for (const release of [...hung]) release();
  };
  let listening = false;
  let closed = false;
  let port = opts.port ?? 0;

  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') port = addr.port;
        listening = true;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    });

  const state = new FaultState((why) => {
    const wasRefusing = state.current?.kind === 'refuse';
    state.reset();
    if (why === 'timer') releaseHung();
    if (wasRefusing && !closed) void listen();
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
      if (parsed.kind === 'refuse') await stopListening();
      else if (wasRefusing && !closed) await listen();
    },
    async clear() {
      const wasRefusing = state.current?.kind === 'refuse';
      state.reset();
      releaseHung();
      if (wasRefusing && !closed) await listen();
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path.startsWith('/_control/')) return control(req, res, path);
    stats.received++;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    let destroyedByUs = false;
    const abort = new AbortController();
    res.on('close', () => {
      if (res.writableFinished) return;
      abort.abort(new Error('client closed the connection'));
      if (!destroyedByUs && !closed) stats.cancelled++;
    });
    res.on('finish', () => stats.completed++);

    const fault = state.take(path);
    try {
      if (fault?.kind === 'hang') {
        const released = await new Promise<boolean>((resolve) => {
          const release = () => {
            hung.delete(release);
            resolve(true);
          };
          hung.add(release);
          abort.signal.addEventListener('abort', () => {
            hung.delete(release);
            resolve(false);
          });
        });
        if (!released || closed) return;
      }
      let reply: Reply;
      if (fault?.kind === 'status503') {
        const err = new VllmError(503, 'The engine is unavailable (fault injected).');
        reply =
          path === '/health'
            ? { status: 503, body: '', contentType: 'text/plain' }
            : errorReply(err, errorFormat);
      } else {
        const negInf = fault?.kind === 'negInf' ? (fault.position ?? 1) : null;
        reply = await route(req, path, abort.signal, negInf);
      }
      if (abort.signal.aborted) return;
      if (fault?.kind === 'malformedJson') {
        const cut =
          reply.body.length > 8
            ? reply.body.slice(0, Math.floor(reply.body.length / 2))
            : '{"object":';
        send(res, 200, 'application/json', cut);
      } else if (fault?.kind === 'dieMidResponse') {
        const full = Buffer.from(
          reply.body.length > 8 ? reply.body : '{"object":"text_completion"}',
        );
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': full.length });
        res.write(full.subarray(0, Math.floor(full.length / 2)), () => {
          destroyedByUs = true;
          res.socket?.destroy();
        });
      } else send(res, reply.status, reply.contentType, reply.body);
    } catch (err) {
      if (abort.signal.aborted) return;
      const e =
        err instanceof VllmError ? err : new VllmError(500, (err as Error).message ?? String(err));
      const r = errorReply(e, errorFormat);
      send(res, r.status, r.contentType, r.body);
    }
  }

  async function route(
    req: IncomingMessage,
    path: string,
    signal: AbortSignal,
    negInf: number | null,
  ): Promise<Reply> {
    const method = ROUTES[path];
    if (!method) return jsonReply(404, { detail: 'Not Found' });
    if (req.method !== method) return jsonReply(405, { detail: 'Method Not Allowed' });
    if (method === 'GET') {
      if (path === '/health') return { status: 200, body: '', contentType: 'text/plain' };
      if (path === '/version') return jsonReply(200, { version: LOCAL_LM_VERSION });
      if (path === '/v1/models') return modelsReply(ctx);
      return metricsReply(ctx);
    }
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest('request body is not valid JSON');
    }
    if (path === '/tokenize') return tokenizeReply(ctx, body);
    if (path === '/detokenize') return detokenizeReply(ctx, body);
    // Without the timing model the CPU is the engine: a request being computed is "running".
    if (engine) return completionsReply(ctx, body, signal, negInf);
    computing++;
    try {
      return await completionsReply(ctx, body, signal, negInf);
    } finally {
      computing--;
    }
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!opts.controls)
      return send(res, 404, 'application/json', JSON.stringify({ detail: 'Not Found' }));
    try {
      if (path === '/_control/stats' && req.method === 'GET') {
        return send(res, 200, 'application/json', JSON.stringify(api.stats()));
      }
      if (path === '/_control/faults' && req.method === 'GET') {
        return send(res, 200, 'application/json', JSON.stringify({ fault: state.current }));
      }
      if (path === '/_control/faults' && req.method === 'DELETE') {
        await faults.clear();
        return send(res, 200, 'application/json', JSON.stringify({ fault: null }));
      }
      if (path === '/_control/faults' && req.method === 'POST') {
        const raw = JSON.parse((await readBody(req)) || 'null') as unknown;
        const wantsClear =
          raw === null || (typeof raw === 'object' && (raw as { clear?: unknown }).clear === true);
        if (wantsClear) {
          await faults.clear();
          return send(res, 200, 'application/json', JSON.stringify({ fault: null }));
        }
        const spec = parseFaultSpec(raw);
        if (typeof spec === 'string')
          return send(res, 400, 'application/json', JSON.stringify({ detail: spec }));
        // Answer before a refuse fault closes this very connection.
        send(res, 200, 'application/json', JSON.stringify({ fault: spec }));
        res.once('finish', () => void faults.set(spec));
        return;
      }
      send(res, 404, 'application/json', JSON.stringify({ detail: 'Not Found' }));
    } catch (err) {
      send(res, 400, 'application/json', JSON.stringify({ detail: (err as Error).message }));
    }
  }

  await listen();

  const api: LocalLmServer = {
    get url() {
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    get port() {
      return port;
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
      engine?.close();
      releaseHung();
      await stopListening();
      for (const s of sockets) s.destroy();
    },
  };
  return api;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
