/**
 * @module
 * The one source of truth for the vLLM side of a host: the pinned image, the serve flags per model, and the
 * container specs (model download + one server per model) that systemd units and images/compose.yaml render.
 */
import type { ContainerSpec } from './container-spec.ts';
import { HOST_PATHS } from './paths.ts';
import type { PlacedModel } from './placement.ts';

/**
 * vLLM image used when settings name none (images/compose.yaml). A CUDA 13 build: needs NVIDIA driver >= 580,
 * which the 2026 DLAMI Base OSS images ship. Tag not checked against Docker Hub from here: see images/vllm/README.md.
 */
export const DEFAULT_VLLM_IMAGE = 'vllm/vllm-openai:v0.31.0';

/**
 * Serving defaults for a scoring-only workload on a 24 GB L4 (flags:
 * https://docs.vllm.ai/en/latest/configuration/engine_args.html). Prompt logprobs materialise logits for every
 * batched token (about tokens × vocab × 6 bytes, outside vLLM's memory profile:
 * https://github.com/vllm-project/vllm/issues/5907), so memory utilisation stays below vLLM's 0.92 and batched
 * tokens stay at 2048.
 */
export const DEFAULT_VLLM_TUNING = {
  gpuMemoryUtilization: 0.85,
  maxNumSeqs: 64,
  maxNumBatchedTokens: 2048,
} as const;

/** Port vLLM listens on inside its container; the host side is `PlacedModel.port` on 127.0.0.1. */
export const VLLM_CONTAINER_PORT = 8000;
/** Hugging Face cache inside the containers (HF_HOME's default for root). */
export const CONTAINER_HF_CACHE = '/root/.cache/huggingface';
/** vLLM's cache directory inside the containers (`VLLM_CACHE_ROOT`'s default for root). */
export const CONTAINER_VLLM_CACHE = '/root/.cache/vllm';
/** Name of the one-shot container that fills the model cache before any server starts. */
export const DOWNLOAD_CONTAINER = 'ep-model-download';

/**
 * Pins the cache location to the mount (whatever HF_HOME the image might set) and keeps telemetry off, for the
 * download and the servers alike.
 */
const CACHE_ENV = { HF_HOME: CONTAINER_HF_CACHE, HF_HUB_DISABLE_TELEMETRY: '1' } as const;

/** `id` or `id@revision`: how download-models.py takes its arguments. */
function downloadRef(p: PlacedModel): string {
  return p.model.revision ? `${p.model.hfId}@${p.model.revision}` : p.model.hfId;
}

/** Arguments of `vllm serve` (the image's entrypoint) for one placed model. */
export function vllmServeArgs(placed: PlacedModel): string[] {
  const m = placed.model;
  // The model is positional: `vllm serve --model` is deprecated.
  const args = [
    m.hfId,
    ...(m.revision ? ['--revision', m.revision, '--tokenizer-revision', m.revision] : []),
    '--served-model-name',
    m.servedName,
    '--max-model-len',
    String(m.maxModelLen),
    '--tensor-parallel-size',
    String(placed.gpuIndices.length),
    '--gpu-memory-utilization',
    String(m.gpuMemoryUtilization ?? DEFAULT_VLLM_TUNING.gpuMemoryUtilization),
    '--max-num-seqs',
    String(m.maxNumSeqs ?? DEFAULT_VLLM_TUNING.maxNumSeqs),
    '--max-num-batched-tokens',
    String(m.maxNumBatchedTokens ?? DEFAULT_VLLM_TUNING.maxNumBatchedTokens),
    // Scoring never reuses a prefix (prompt-logprob requests skip cache reads) and caching has had
    // order-dependent prompt logprobs (vllm #42019): turn it off.
    '--no-enable-prefix-caching',
    // One line per request at info level is noise at scoring rates; the controller logs requests.
    '--disable-uvicorn-access-log',
    // 0.0.0.0 inside the container's own network namespace; the host publishes it on 127.0.0.1 only.
    '--host',
    '0.0.0.0',
    '--port',
    String(VLLM_CONTAINER_PORT),
    ...(m.extraArgs ?? []),
  ];
  return args;
}

/** Validates tuning values early, with the model's name, instead of letting vLLM fail at boot. */
function checkTuning(placed: PlacedModel): void {
  const m = placed.model;
  const u = m.gpuMemoryUtilization ?? DEFAULT_VLLM_TUNING.gpuMemoryUtilization;
  if (!(u > 0 && u <= 1))
    throw new Error(`model ${m.servedName}: gpuMemoryUtilization must be in (0, 1], got ${u}`);
  for (const [field, value] of [
    ['maxModelLen', m.maxModelLen],
    ['maxNumSeqs', m.maxNumSeqs ?? DEFAULT_VLLM_TUNING.maxNumSeqs],
    ['maxNumBatchedTokens', m.maxNumBatchedTokens ?? DEFAULT_VLLM_TUNING.maxNumBatchedTokens],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`model ${m.servedName}: ${field} must be a positive integer, got ${value}`);
    }
  }
}

/**
 * One vLLM server container. It reads weights from the shared cache read-only and offline: the download
 * container fetched them once for all models, so four servers never race to download or write the cache,
 * and the servers need no Hugging Face token.
 */
export function vllmContainer(placed: PlacedModel, image: string): ContainerSpec {
  checkTuning(placed);
  return {
    name: placed.containerName,
    image,
    command: vllmServeArgs(placed),
    gpus: placed.gpuIndices,
    ports: [{ hostPort: placed.port, containerPort: VLLM_CONTAINER_PORT }],
    hostNetwork: false,
    hostIpc: true,
    init: false,
    env: { ...CACHE_ENV, HF_HUB_OFFLINE: '1', VLLM_NO_USAGE_STATS: '1' },
    secretEnv: [],
    volumes: [
      {
        hostPath: HOST_PATHS.hfCache,
        composeSource: 'hf-cache',
        target: CONTAINER_HF_CACHE,
        readOnly: true,
      },
      // Compile and CUDA-graph caches on the instance store: a restarted server (the container is removed when it
      // stops) finds them and starts in seconds rather than recompiling.
      {
        hostPath: HOST_PATHS.vllmCache,
        composeSource: 'vllm-cache',
        target: CONTAINER_VLLM_CACHE,
        readOnly: false,
      },
    ],
    oneShot: false,
    after: [DOWNLOAD_CONTAINER],
  };
}

/**
 * The one-shot download of every model into the shared cache, run with the vLLM image's own Python and
 * huggingface_hub (no extra image to pull). Idempotent: download-models.py skips models already complete.
 */
export function downloadContainer(placed: readonly PlacedModel[], image: string): ContainerSpec {
  return {
    name: DOWNLOAD_CONTAINER,
    image,
    entrypoint: 'python3',
    command: ['/ep/download-models.py', ...placed.map(downloadRef)],
    gpus: [],
    ports: [],
    hostNetwork: false,
    hostIpc: false,
    init: false,
    env: { ...CACHE_ENV },
    secretEnv: ['HF_TOKEN'],
    volumes: [
      {
        hostPath: HOST_PATHS.hfCache,
        composeSource: 'hf-cache',
        target: CONTAINER_HF_CACHE,
        readOnly: false,
      },
      {
        hostPath: HOST_PATHS.downloadScript,
        composeSource: '../infra/host/download-models.py',
        target: '/ep/download-models.py',
        readOnly: true,
      },
    ],
    oneShot: true,
    after: [],
  };
}
