/**
 * @module
 * A LocalModel is the n-gram engine: a tokenizer plus a trained KN scorer and its served identity, scoring as a
 * GPU would report it (log-probs rounded to float32). Default models are trained from
 * their corpora on first use and cached on disk (keyed by a hash of the spec and the code version), so later
 * starts only read a file.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus, paragraphs } from './corpora.ts';
import type { ModelEngine } from './engines/model-engine.ts';
import { decodeNgram, encodeNgram } from './kn/serialize.ts';
import { NgramScorer } from './kn/scorer.ts';
import { trainNgram } from './kn/train.ts';
import { specFor, type ModelSpec } from './model-specs.ts';
import { getTokenizer, type Tokenizer, type TokenizerId } from './tokenizers.ts';

/** Bump when training or the file format changes: it invalidates every cached model. */
export const CODE_VERSION = 'kn-1';

export interface LocalModel extends ModelEngine {
  readonly order: number;
  readonly scorer: NgramScorer;
}

/** Log-probs travel as float32 on a GPU; rounding gives the controller the values a real server sends. */
const f32 = ([token, logprob]: [number, number]): [number, number] => [token, Math.fround(logprob)];

function ngramModel(
  identity: { name: string; root: string; order: number },
  tokenizer: Tokenizer,
  scorer: NgramScorer,
): LocalModel {
  return {
    ...identity,
    tokenizer,
    scorer,
    scorePosition(tokens, pos, k) {
      const s = scorer.scorePosition(tokens, pos, k);
      return { ...s, logprob: Math.fround(s.logprob), top: s.top.map(f32) };
    },
    argmaxNext: (tokens) => scorer.argmaxNext(tokens),
  };
}

export interface TrainModelOptions {
  name: string;
  tokenizer: TokenizerId;
  /** n-gram order. @default 3 */
  order?: number;
  /** Training text; paragraphs (blank-line separated) become separate sequences. */
  corpus: string | string[];
  /** @default `local-lm/<name>` */
  root?: string;
}

/** Trains a model in memory from inline text (tests: small, deterministic, fast). */
export function trainModel(opts: TrainModelOptions): LocalModel {
  const tokenizer = getTokenizer(opts.tokenizer);
  const order = opts.order ?? 3;
  const texts = paragraphs(Array.isArray(opts.corpus) ? opts.corpus : [opts.corpus]);
  const data = trainNgram(encodeAll(tokenizer, texts), order, tokenizer.vocabSize);
  const root = opts.root ?? `local-lm/${opts.name}`;
  return ngramModel({ name: opts.name, root, order }, tokenizer, new NgramScorer(data));
}

function encodeAll(tokenizer: Tokenizer, texts: readonly string[]): Int32Array[] {
  return texts.map((t) => Int32Array.from([tokenizer.prefixToken, ...tokenizer.encode(t, false)]));
}

/** Where cached models live: `EP_LOCAL_LM_CACHE`, else `.cache/local-lm/` at the repository root. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EP_LOCAL_LM_CACHE) return resolve(env.EP_LOCAL_LM_CACHE);
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'local-lm');
}

export function cacheKey(spec: ModelSpec): string {
  return createHash('sha256')
    .update(JSON.stringify({ spec, CODE_VERSION }))
    .digest('hex')
    .slice(0, 16);
}

/** Reads the spec's corpora (split evenly when several), tokenizes and trains. Pure CPU; seconds. */
export function trainFromSpec(spec: ModelSpec): Buffer {
  const tokenizer = getTokenizer(spec.tokenizer);
  const per = spec.maxChars / spec.corpus.length;
  const texts = spec.corpus.flatMap((c) => paragraphs(loadCorpus(c, per)));
  const data = trainNgram(encodeAll(tokenizer, texts), spec.order, tokenizer.vocabSize);
  return encodeNgram(data, { spec, CODE_VERSION, trainedAt: new Date().toISOString() });
}

export interface LoadModelOptions {
  /** @default - see defaultCacheDir() */
  cacheDir?: string;
  /** Train in a worker thread (keeps the event loop free and trains several models in parallel). @default true */
  worker?: boolean;
}

const inflight = new Map<string, Promise<LocalModel>>();

/** Loads a default model by served name: from the disk cache, or trains it (and caches it) on first use. */
export function loadModel(name: string, opts: LoadModelOptions = {}): Promise<LocalModel> {
  const spec = specFor(name);
  const dir = opts.cacheDir ?? defaultCacheDir();
  const file = join(dir, `${spec.name}-${cacheKey(spec)}.bin`);
  let p = inflight.get(file);
  if (!p) {
    p = loadOrTrain(spec, file, opts.worker ?? true);
    inflight.set(file, p);
    p.catch(() => inflight.delete(file));
  }
  return p;
}

async function readCached(file: string) {
  try {
    return tryDecode(await readFile(file));
  } catch {
    return undefined;
  }
}

/** A lock older than this is from a crashed process and is taken over. */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * Trains once across processes: the first to create `<file>.lock` trains, the others wait for the file
 * (parallel test files and fleet processes share one cache).
 */
async function loadOrTrainData(spec: ModelSpec, file: string, useWorker: boolean) {
  await mkdir(dirname(file), { recursive: true });
  const lock = `${file}.lock`;
  for (;;) {
    const cached = await readCached(file);
    if (cached) return cached;
    let handle;
    try {
      handle = await open(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await unlink(lock).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      await handle.close();
      const buf = useWorker ? await trainInWorker(spec) : trainFromSpec(spec);
      // Write then rename so a concurrent reader never sees half a file.
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, buf);
      await rename(tmp, file);
      await removeStaleVersions(file, spec.name);
      const decoded = tryDecode(buf);
      if (!decoded) throw new Error(`model ${spec.name}: freshly trained file does not decode`);
      return decoded;
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

/** Drops cache files of the same model from older specs or code versions (they would never be read again). */
async function removeStaleVersions(file: string, name: string): Promise<void> {
  const dir = dirname(file);
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}\\.bin$`);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (pattern.test(f) && join(dir, f) !== file) await unlink(join(dir, f)).catch(() => undefined);
  }
}

async function loadOrTrain(spec: ModelSpec, file: string, useWorker: boolean): Promise<LocalModel> {
  const data = await loadOrTrainData(spec, file, useWorker);
  const identity = { name: spec.name, root: spec.root, order: spec.order };
  return ngramModel(identity, getTokenizer(spec.tokenizer), new NgramScorer(data));
}

function tryDecode(buf: Buffer) {
  try {
    return decodeNgram(buf).data;
  } catch {
    return undefined;
  }
}

/**
 * At most this many trainings at once: more workers than cores only add peak memory (each holds its count
 * maps, ~250 MB for the larger models) without finishing sooner.
 */
const TRAIN_SLOTS = Math.max(1, Math.min(2, availableParallelism()));
let trainingNow = 0;
const trainQueue: (() => void)[] = [];

async function trainInWorker(spec: ModelSpec): Promise<Buffer> {
  if (trainingNow >= TRAIN_SLOTS) await new Promise<void>((r) => trainQueue.push(r));
  trainingNow++;
  try {
    const { trainInWorkerThread } = await import('./train-worker-client.ts');
    try {
      return await trainInWorkerThread(spec);
    } catch {
      // No TS loader available to the worker (e.g. under some test runners): train on this thread instead.
      return trainFromSpec(spec);
    }
  } finally {
    trainingNow--;
    trainQueue.shift()?.();
  }
}
