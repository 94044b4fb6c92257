/**
 * @module
 * Controller configuration: one zod schema, parsed once at startup. Every default lives here and nowhere else.
 * Sources, later ones winning: a JSON file (`EP_CONFIG`, the host config rendered by infra/host or the local
 * launcher), then a few environment variables (`PORT`, `HOST`, `EP_KEY_STORE`, `EP_LOG_LEVEL`).
 * Every object is strict: a misspelt setting (`limts`, `auth.reloadMS`) is an error naming it, never ignored.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

/** A Hugging Face model id, `org/name` (https://huggingface.co/docs/hub/models-the-hub). */
const huggingFaceId = z
  .string()
  .regex(/^[\w.-]+\/[\w.-]+$/, 'use a Hugging Face id like meta-llama/Llama-2-7b-hf');

export const ModelConfigSchema = z.strictObject({
  /** Public model name used in requests and responses. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'model names use letters, digits, . _ -'),
  /** vLLM-compatible base URLs (without `/v1`) serving this model; replicas share the load. */
  backends: z.array(url).min(1),
  /** Name the backend serves the model under (`--served-model-name`); discovered from `/v1/models` when unset. */
  servedName: z.string().min(1).optional(),
  /**
   * Token that precedes every text so its first token is scored (BOS, or EOS where the tokenizer has none).
   * Discovered from the backend's tokenizer when unset.
   */
  prefixTokenId: z.int().nonnegative().optional(),
  /** Default ensemble weight. */
  weight: z.number().positive().finite().default(1),
  /**
   * Why this model cannot serve here (a GPU host's boot script sets it when the model could not be downloaded):
   * `/v1/models` shows it, and the model never counts as ready.
   */
  unavailable: z.string().min(1).optional(),
  /**
   * Hugging Face id of the model (`meta-llama/Llama-2-7b-hf`). The legacy routes accept it as another name of the
   * model and, with `legacy.responseNames: "hfId"`, answer with it, as the earlier Python service did.
   */
  hfId: huggingFaceId.optional(),
  /** More names the legacy routes accept for this model in `model_names`. */
  aliases: z.array(z.string().min(1).max(200)).optional(),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const LimitsSchema = z
  .strictObject({
    /** Texts in one `POST /v1/perplexity`. */
    maxTextsPerRequest: z.int().positive().default(1000),
    /** Characters (UTF-16 code units) in one text. */
    maxCharsPerText: z.int().positive().default(200_000),
    /** UTF-8 bytes over all texts of one request. */
    maxTotalTextBytes: z
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** Raw request body bytes (413 beyond). */
    maxBodyBytes: z
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    /**
     * Texts in one streamed `POST /v1/perplexity` (`"stream": true`). Results leave as they complete and only a
     * window of texts is in flight, so the controller's memory does not grow with this number.
     */
    maxTextsPerStream: z.int().positive().default(100_000),
    /**
     * Raw body bytes of a streamed request (413 beyond); it also bounds the stream's total text bytes. Other
     * requests keep `maxBodyBytes`. The limit is chosen before the body is parsed, so a body over `maxBodyBytes`
     * must come with `Accept: application/x-ndjson`. The parsed texts stay in memory while the stream runs.
     */
    maxStreamBodyBytes: z
      .int()
      .positive()
      .default(128 * 1024 * 1024),
    /** NDJSON streams open at once, over all keys (503 beyond). Each holds its parsed body while it runs. */
    maxConcurrentStreams: z.int().positive().default(64),
    /**
     * NDJSON streams one key may have open at once (429 beyond). The clients send batches as streams, several at
     * once (`npm run score`: 4 by default).
     */
    maxConcurrentStreamsPerKey: z.int().positive().default(16),
  })
  .prefault({});
export type Limits = z.infer<typeof LimitsSchema>;

export const TimeoutsSchema = z
  .strictObject({
    /** Deadline of one scoring request when the caller sets none. */
    requestMs: z.int().positive().default(60_000),
    /** Largest deadline a caller may ask for. */
    maxRequestMs: z.int().positive().default(600_000),
    /** TCP connect timeout to a backend. */
    connectMs: z.int().positive().default(5_000),
    /** How long startup waits for backends to answer discovery before serving as not ready. */
    discoveryMs: z.int().positive().default(120_000),
    /** Graceful shutdown: how long in-flight requests may take after SIGTERM. */
    shutdownMs: z.int().positive().default(30_000),
    /**
     * An NDJSON stream whose client has read nothing for this long, while lines wait for it, is aborted and its
     * texts are released.
     */
    streamStallMs: z.int().positive().default(30_000),
  })
  .prefault({});

/**
 * Limits of the HTTP server itself: they hold before any key is checked, so a client without a key cannot hold
 * memory, sockets or file descriptors for long.
 */
export const ServerSchema = z
  .strictObject({
    /** Time a client has to send the request line and headers (Node's `headersTimeout`). */
    headersTimeoutMs: z.int().positive().default(10_000),
    /** Longest pause between two pieces of a request body before the request is answered 408 and closed. */
    bodyIdleMs: z.int().positive().default(10_000),
    /**
     * Time a client has to send the whole request, headers and body (Node's `requestTimeout`). It bounds a body
     * that trickles in just fast enough to beat `bodyIdleMs`; the scoring time after the body is not counted.
     */
    requestTimeoutMs: z.int().positive().default(120_000),
    /** How long an idle keep-alive connection stays open. Longer than a load balancer's (ALB: 60 s). */
    keepAliveTimeoutMs: z.int().positive().default(75_000),
    /** Requests served on one keep-alive connection before it is closed (0: no limit). */
    maxRequestsPerSocket: z.int().nonnegative().default(1_000),
    /**
     * Open client connections at most; further ones are closed at once. The server also keeps
     * `reservedFileDescriptors` below the process's open-file limit (`ulimit -n`) free, whichever is lower.
     * @default - the open-file limit minus `reservedFileDescriptors`
     */
    maxConnections: z.int().positive().optional(),
    /**
     * File descriptors kept free of client connections, for the controller's own backend calls, probes, logs and
     * key store reads: incoming sockets can never starve them.
     */
    reservedFileDescriptors: z.int().positive().default(1_024),
  })
  .prefault({});

export const SchedulerSchema = z
  .strictObject({
    /** Prompt tokens (estimated) in one batch sent to a backend. */
    batchTokenBudget: z.int().positive().default(16_384),
    /** Prompts in one batch (vLLM rejects lists over 1024). */
    maxBatchPrompts: z.int().min(1).max(1024).default(256),
    /** Batches in flight to one backend at once. */
    maxInflightPerBackend: z.int().positive().default(4),
    /** Texts waiting per model before new requests get 503 + Retry-After. */
    maxQueuedTexts: z.int().positive().default(50_000),
    /**
     * `prompt_logprobs` of scoring requests. 0 returns only each actual token's logprob (all scoring needs, and
     * a third of the JSON of 1); a backend that rejects 0 is asked with 1 automatically.
     */
    promptLogprobs: z.int().min(0).max(20).default(0),
    /**
     * Least time one backend attempt of a batch is given; the timeout grows with the batch's expected cost
     * (its tokens times the backend's measured time per token, four times over). A frozen replica then costs
     * this long, not the request's deadline.
     */
    attemptTimeoutFloorMs: z.int().positive().default(5_000),
    /** How long a text the backend failed on alone (`backend_rejected_text`) is answered with that error. */
    rejectedTextTtlMs: z.int().positive().default(60_000),
  })
  .prefault({});

export const HealthSchema = z
  .strictObject({
    /** Active probe period per backend. */
    probeIntervalMs: z.int().positive().default(5_000),
    /** Probe timeout. */
    probeTimeoutMs: z.int().positive().default(2_000),
    /** Consecutive failures before a backend is ejected. */
    failuresToEject: z.int().positive().default(3),
    /** Consecutive successes before an ejected backend is readmitted. */
    successesToReadmit: z.int().positive().default(2),
    /** Allowed drift (nats per token) of the golden-text probe from its startup value. */
    goldenToleranceNats: z.number().positive().default(0.05),
  })
  .prefault({});

export const CalibrationSchema = z
  .object({
    /**
     * Calibration file (made by `npm run calibrate`, or by the controller itself with `makeIfMissing`). Percentiles,
     * spans and flags need one; the file is checked again every `reloadMs`, so a new one takes effect without a
     * restart. `EP_CALIBRATION_PATH` overrides it. @default - none
     */
    path: z.string().min(1).optional(),
    reloadMs: z.int().positive().default(30_000),
    /**
     * Make the file at `path` when it is missing, or when no calibration is in force (the file was refused: made
     * for other models, or damaged), once every model is ready: the controller scores the reference corpus
     * through its own models in the background, as one more tenant of the model queues, writes the file and puts
     * it in force. A failed attempt is logged and retried a few times. Needs `path`. @default false
     */
    makeIfMissing: z.boolean().default(false),
    /**
     * Reference texts a self-made calibration scores, spread over the corpus's fit split: fewer is quicker but
     * coarser (each length bucket needs 20 texts scored by every model). @default - every fit text (about 2,100)
     */
    maxTexts: z.int().positive().optional(),
  })
  .prefault({});

export const AuthSchema = z
  .strictObject({
    /**
     * Key store: `file:PATH`, `aws:SECRET_ID` (Secrets Manager), or `none` (no keys required: only for local
     * experiments; the server logs a warning).
     */
    store: z
      .string()
      .regex(/^(none|file:.+|aws:.+)$/, 'use none, file:PATH or aws:SECRET_ID')
      .default('none'),
    /** AWS region for an `aws:` store. */
    region: z.string().optional(),
    /** How often the key set is reloaded from the store. */
    reloadMs: z.int().positive().default(30_000),
    /**
     * Proxies in front of the controller that append to `X-Forwarded-For` (ALB: 1; CloudFront + ALB: 2). The
     * client address for the failed-auth throttle is read that many entries from the right; 0 uses the TCP peer.
     */
    trustedProxies: z.int().min(0).max(5).default(0),
    /** Whether `GET /metrics` needs a key. */
    metricsRequireKey: z.boolean().default(false),
    /** Default per-key limits (a key may override). */
    requestsPerMinute: z.int().positive().default(600),
    tokensPerMinute: z.int().positive().default(5_000_000),
  })
  .prefault({});

export const CacheSchema = z
  .strictObject({
    /**
     * Result cache budget: heap bytes of its keys, values and bookkeeping (each entry is counted at its real
     * size). 0 disables the cache. The default keeps the whole controller within 200 MiB resident under full
     * load (`npm run bench -- --memory`); it holds about 9,000 model scores of 50-token texts with their tokens
     * (what `/v1/perplexity` stores for its detection figures), or 80,000 without (the legacy route).
     */
    maxBytes: z
      .int()
      .nonnegative()
      .default(16 * 1024 * 1024),
    /**
     * Requests (and streams) with more texts than this are bulk jobs: they read the cache but do not store their
     * results, which would evict everyone else's for texts that are rarely asked again. 0 stores none.
     */
    maxStoredTextsPerRequest: z.int().nonnegative().default(256),
  })
  .prefault({});

export const CorsSchema = z
  .strictObject({
    /**
     * Origins (`https://app.example.com`, exactly as a browser sends them) whose pages may call the API: they get
     * CORS headers and their preflights (`OPTIONS`) are answered before authentication. Any other origin gets no
     * CORS headers. Default: none.
     */
    allowedOrigins: z
      .array(
        z
          .string()
          .refine(isOrigin, 'use an origin: scheme://host[:port], no path or trailing slash'),
      )
      .default([]),
  })
  .prefault({});

/**
 * What the routes of the earlier Python service (haizelabs/ensembled-perplexity: `POST /ensemble_perplexity`,
 * `GET /ensemble_model_names`) accept beyond this API's own conventions, so its clients work unchanged.
 */
export const LegacySchema = z
  .strictObject({
    /**
     * Serve `POST /ensemble_perplexity` without an API key, as the earlier service did. Only allowed when `host` is
     * a loopback address; `/v1/perplexity` still needs a key.
     */
    openAccess: z.boolean().default(false),
    /**
     * How the legacy routes name models in `GET /ensemble_model_names` and in the response's keys: `name` (the
     * model's name) or `hfId` (its Hugging Face id, or its name when it has none).
     */
    responseNames: z.enum(['name', 'hfId']).default('name'),
    /**
     * How `model_names` picks models: `exact` (a comma-separated list of names, Hugging Face ids or aliases; an
     * unknown one is a 404) or `substring` (the earlier service: every model whose name, Hugging Face id or
     * alias occurs anywhere in `model_names`).
     */
    modelNamesMatch: z.enum(['exact', 'substring']).default('exact'),
  })
  .prefault({});

export const ControllerConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.int().min(0).max(65535).default(8000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  models: z
    .array(ModelConfigSchema)
    .min(1)
    .refine(
      (ms) => new Set(ms.map((m) => m.name)).size === ms.length,
      'model names must be unique',
    ),
  /** Models that must answer for a text's ensemble; fewer is 503 (per request: `min_models`). Default: all. */
  minModels: z.int().positive().optional(),
  limits: LimitsSchema,
  timeouts: TimeoutsSchema,
  server: ServerSchema,
  scheduler: SchedulerSchema,
  health: HealthSchema,
  auth: AuthSchema,
  cache: CacheSchema,
  calibration: CalibrationSchema,
  cors: CorsSchema,
  legacy: LegacySchema,
});
export type ControllerConfig = z.infer<typeof ControllerConfigSchema>;
/** What a config file may contain: everything but `models` is optional. */
export type ControllerConfigInput = z.input<typeof ControllerConfigSchema>;

/** Thrown when the configuration is invalid; the message names every bad field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a config object, naming every bad field in one error. */
export function parseConfig(input: unknown): ControllerConfig {
  const result = ControllerConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.flatMap(describeIssue);
    throw new ConfigError(`invalid controller configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  const problems = [...modelNameClashes(config.models), ...openAccessProblems(config)];
  if (problems.length > 0) {
    throw new ConfigError(`invalid controller configuration:\n${problems.join('\n')}`);
  }
  if (config.minModels !== undefined && config.minModels > config.models.length) {
    throw new ConfigError(
      `invalid controller configuration:\n  minModels: ${config.minModels} exceeds the ${config.models.length} configured models`,
    );
  }
  return config;
}

/** Every name a legacy request may use for each model; none may name two models. */
function modelNameClashes(models: readonly ModelConfig[]): string[] {
  const owner = new Map<string, number>();
  models.forEach((m, i) => owner.set(m.name, i));
  const problems: string[] = [];
  models.forEach((m, i) => {
    const extra: Array<[string, string]> = [
      ...(m.hfId === undefined ? [] : [[`models.${i}.hfId`, m.hfId] as [string, string]]),
      ...(m.aliases ?? []).map((a, j): [string, string] => [`models.${i}.aliases.${j}`, a]),
    ];
    for (const [field, name] of extra) {
      const other = owner.get(name);
      if (other !== undefined && other !== i) {
        problems.push(`  ${field}: "${name}" already names models.${other}`);
      } else owner.set(name, i);
    }
  });
  return problems;
}

/** Open legacy access is for a controller only this machine can reach. */
function openAccessProblems(config: ControllerConfig): string[] {
  if (!config.legacy.openAccess || isLoopbackHost(config.host)) return [];
  return [
    `  legacy.openAccess: only allowed when the controller listens on loopback (host 127.0.0.1, ::1 or localhost), not on ${config.host}`,
  ];
}

/** Whether `host` (as given to `listen`) accepts connections from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return /^https?:$/.test(parsed.protocol) && parsed.origin === value;
  } catch {
    return false;
  }
}

/** One line per problem; an unknown key is named by its full path (`auth.reloadMS`), not by its parent's. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `  ${at([...issue.path, key])}: unknown setting`);
  }
  return [`  ${at(issue.path)}: ${issue.message}`];
}

/** Reads `EP_CONFIG` (a JSON file) and applies environment overrides. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const path = env.EP_CONFIG;
  if (!path)
    throw new ConfigError('EP_CONFIG must name a JSON config file (see README.md, Configuration)');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const auth = { ...((raw.auth as object | undefined) ?? {}) } as Record<string, unknown>;
  if (env.EP_KEY_STORE) auth.store = env.EP_KEY_STORE;
  const calibration = { ...((raw.calibration as object | undefined) ?? {}) } as Record<
    string,
    unknown
  >;
  // A container names the file at its own mount point (the AWS host's controller unit sets it).
  if (env.EP_CALIBRATION_PATH) calibration.path = env.EP_CALIBRATION_PATH;
  return parseConfig({
    ...raw,
    ...(env.PORT ? { port: Number(env.PORT) } : {}),
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(env.EP_LOG_LEVEL ? { logLevel: env.EP_LOG_LEVEL } : {}),
    auth,
    ...(Object.keys(calibration).length > 0 ? { calibration } : {}),
  });
}
