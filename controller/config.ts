/**
 * @module
 * Controller configuration: one zod schema, parsed once at startup. Every default lives here and nowhere else.
 * Sources, later ones winning: a JSON file (`EP_CONFIG`, the host config rendered by infra/host or the local
 * launcher), then a few environment variables (`PORT`, `HOST`, `EP_KEY_STORE`, `EP_LOG_LEVEL`).
 * Every object is strict: a misspelt setting (`limts`, `auth.reloadMS`) is an error naming it, never ignored.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

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
     * Calibration file (made by `npm run calibrate`). Percentiles, spans and flags need one; the file is checked
     * again every `reloadMs`, so a new one takes effect without a restart. @default - none
     */
    path: z.string().min(1).optional(),
    reloadMs: z.int().positive().default(30_000),
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
     * size). 0 disables the cache. The default keeps the whole controller within ~200 MiB resident under load.
     */
    maxBytes: z
      .int()
      .nonnegative()
      .default(32 * 1024 * 1024),
    /**
     * Requests (and streams) with more texts than this are bulk jobs: they read the cache but do not store their
     * results, which would evict everyone else's for texts that are rarely asked again. 0 stores none.
     */
    maxStoredTextsPerRequest: z.int().nonnegative().default(256),
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
  scheduler: SchedulerSchema,
  health: HealthSchema,
  auth: AuthSchema,
  cache: CacheSchema,
  calibration: CalibrationSchema,
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
  if (config.minModels !== undefined && config.minModels > config.models.length) {
    throw new ConfigError(
      `invalid controller configuration:\n  minModels: ${config.minModels} exceeds the ${config.models.length} configured models`,
    );
  }
  return config;
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
  return parseConfig({
    ...raw,
    ...(env.PORT ? { port: Number(env.PORT) } : {}),
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(env.EP_LOG_LEVEL ? { logLevel: env.EP_LOG_LEVEL } : {}),
    auth,
  });
}
