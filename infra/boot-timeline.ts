/**
 * @module
 * How long a new GPU host takes from launch to taking traffic, step by step. The Auto Scaling grace period, the
 * scaling warm-up and the README timeline all come from this one estimate, so none of them is a bare guess.
 *
 * The rates are deliberately conservative (a host behind one NAT gateway, a cold Hugging Face CDN): the grace
 * period only has to be long enough, and a host that is ready earlier takes traffic earlier anyway.
 */

/** Download size of the reference models (safetensors only, as download-models.py fetches them). */
export const KNOWN_MODEL_GIB: Readonly<Record<string, number>> = {
  'lmsys/vicuna-7b-v1.5': 12.6,
  'meta-llama/Llama-2-7b-hf': 12.6,
  'microsoft/phi-2': 5.2,
  'mistralai/Mistral-7B-v0.1': 13.5,
};

/** Size assumed for a model not in {@link KNOWN_MODEL_GIB}: a 7B model in 16-bit weights per GPU it spans. */
export const UNKNOWN_MODEL_GIB_PER_GPU = 14;

/** Compressed size of the vLLM image (CUDA, PyTorch): the largest pull of a boot. */
export const VLLM_IMAGE_GIB = 10;

/** Throughputs and fixed durations behind the estimate. */
export const BOOT_RATES = {
  /** EC2 launch, firmware, Ubuntu and cloud-init up to the boot script. */
  launchSeconds: 150,
  /** NVIDIA driver initialised and every GPU visible. */
  gpuSeconds: 30,
  /** Docker Hub through the NAT gateway. */
  pullMiBps: 150,
  /** Hugging Face downloads through the NAT gateway (one download at a time per model). */
  downloadMiBps: 120,
  /** vLLM start: load weights, profile memory, compile and capture CUDA graphs (the servers start in parallel). */
  loadSeconds: 300,
  /** Safety factor of the grace period over the sum of the steps. */
  graceFactor: 1.5,
} as const;

/** One step of the boot, in order. */
export interface BootStep {
  readonly step: string;
  readonly seconds: number;
}

export interface BootTimeline {
  readonly steps: readonly BootStep[];
  /** Expected launch-to-ready time. */
  readonly totalSeconds: number;
  /** Grace period and scaling warm-up: the total with a safety factor, rounded up to a minute. */
  readonly graceSeconds: number;
}

/** The settings the estimate depends on. */
export interface TimelineInput {
  readonly models: readonly { readonly hfId: string; readonly gpus: number }[];
  /** gp3 throughput of the root volume, which holds Docker's image store. */
  readonly rootVolumeThroughputMiBps: number;
}

/** Download size of one model (GiB). */
export function modelGiB(model: { hfId: string; gpus: number }): number {
  return KNOWN_MODEL_GIB[model.hfId] ?? UNKNOWN_MODEL_GIB_PER_GPU * model.gpus;
}

/**
 * The steps of a first boot. Image pulls run while the host waits for the Hugging Face token and alongside the
 * model download, so the longer of the two counts; extraction is bounded by the root volume's throughput.
 */
export function bootTimeline(input: TimelineInput): BootTimeline {
  const r = BOOT_RATES;
  const pullSeconds =
    (VLLM_IMAGE_GIB * 1024) / Math.min(r.pullMiBps, input.rootVolumeThroughputMiBps);
  // Extraction writes about twice the compressed size.
  const extractSeconds = (2 * VLLM_IMAGE_GIB * 1024) / input.rootVolumeThroughputMiBps;
  const gib = input.models.reduce((sum, m) => sum + modelGiB(m), 0);
  const downloadSeconds = (gib * 1024) / r.downloadMiBps;
  const steps: BootStep[] = [
    { step: 'launch and boot to the boot script', seconds: r.launchSeconds },
    { step: 'GPUs visible', seconds: r.gpuSeconds },
    {
      step: `model download (${gib.toFixed(0)} GiB), images pulled alongside`,
      seconds: Math.max(downloadSeconds, pullSeconds + extractSeconds),
    },
    { step: 'vLLM servers load the models', seconds: r.loadSeconds },
  ];
  const totalSeconds = Math.round(steps.reduce((sum, s) => sum + s.seconds, 0));
  const graceSeconds = Math.ceil((totalSeconds * r.graceFactor) / 60) * 60;
  return {
    steps: steps.map((s) => ({ ...s, seconds: Math.round(s.seconds) })),
    totalSeconds,
    graceSeconds,
  };
}
