/**
 * @module
 * The contract between the CDKTF stack (infra/) and the host bootstrap (infra/host/): what one GPU host must run.
 * The stack validates settings (infra/config.ts) and hands these plain values to the host renderers.
 * Optional fields have defaults in infra/host/vllm.ts (vLLM tuning) or below; the renderers fill them in.
 */

/** One language model served by vLLM on a host. */
export interface ModelDeployment {
  /** Hugging Face model id, e.g. `mistralai/Mistral-7B-v0.1`. */
  readonly hfId: string;
  /** Name the controller and clients use (`--served-model-name`), e.g. `mistral-7b`. */
  readonly servedName: string;
  /** GPUs this model spans (tensor parallel size). */
  readonly gpus: number;
  /** Context length passed as `--max-model-len`. */
  readonly maxModelLen: number;
  /**
   * Hugging Face revision (branch, tag or commit sha) to download and serve; a commit sha makes hosts reproducible.
   * @default - the repository's default branch (`main`)
   */
  readonly revision?: string;
  /**
   * Fraction of each GPU's memory vLLM may use (`--gpu-memory-utilization`).
   * @default 0.85 (DEFAULT_VLLM_TUNING: leaves room for the prompt-logprob logits peak on a 24 GB L4)
   */
  readonly gpuMemoryUtilization?: number;
  /**
   * Sequences scheduled at once (`--max-num-seqs`).
   * @default 64 (DEFAULT_VLLM_TUNING)
   */
  readonly maxNumSeqs?: number;
  /**
   * Tokens per engine step (`--max-num-batched-tokens`); also bounds the logits peak of prompt logprobs.
   * @default 2048 (DEFAULT_VLLM_TUNING)
   */
  readonly maxNumBatchedTokens?: number;
  /**
   * Extra `vllm serve` arguments appended verbatim (e.g. `['--quantization', 'fp8']`).
   * @default - none
   */
  readonly extraArgs?: readonly string[];
}

/** Everything a host needs to boot into one vLLM container per model plus the controller. */
export interface HostSettings {
  readonly deploymentName: string;
  readonly region: string;
  /** GPUs on the instance type (g6.12xlarge: 4). */
  readonly gpuCount: number;
  readonly models: readonly ModelDeployment[];
  /** Pinned vLLM image, e.g. `vllm/vllm-openai:v0.31.0`. */
  readonly vllmImage: string;
  /** Official Node image the controller bundle runs in. */
  readonly nodeImage: string;
  /** S3 location of the controller bundle (`s3://bucket/key`), the single file `dist/controller.mjs`. */
  readonly bundleS3Uri: string;
  /**
   * Hex sha256 of the bundle; when set, the host refuses a bundle that does not match
   * (`buildControllerBundle` returns it).
   * @default - not checked
   */
  readonly bundleSha256?: string;
  /** S3 location of the rendered host config JSON (`s3://bucket/key`). */
  readonly hostConfigS3Uri: string;
  /**
   * S3 location of the deployment's calibration file (`s3://bucket/key`): the first host to make one uploads it,
   * every host downloads a newer one (ep-calibration-sync.sh). The host role may write this key's prefix.
   * @default - none: each host keeps the calibration it makes on its own disk
   */
  readonly calibrationS3Uri?: string;
  /** Secrets Manager id of the Hugging Face token (the secret's value is the plain token string). */
  readonly hfTokenSecretId: string;
  /** Secrets Manager id of the API key store. */
  readonly apiKeySecretId: string;
  /** CloudWatch log group for containers on the host. */
  readonly logGroupName: string;
  /** Port the controller listens on (the ALB target port). */
  readonly controllerPort: number;
  /**
   * Models that must be ready for the host to take traffic (the controller's `minModels`).
   * @default a majority of `models`
   */
  readonly minModels?: number;
  /**
   * Auto Scaling group the host belongs to: the watchdog marks the host unhealthy and protects it from scale-in
   * there, and publishes its metrics with this dimension.
   * @default - `<deploymentName>-hosts`
   */
  readonly autoScalingGroupName?: string;
  /**
   * Minutes of continuous failure after boot before the watchdog marks the host unhealthy.
   * @default 15
   */
  readonly watchdogMinutes?: number;
  /**
   * Secrets Manager id of a Docker Hub login (`user:token`); when set and holding a value, hosts pull as that user.
   * @default - anonymous pulls
   */
  readonly dockerHubSecretId?: string;
  /**
   * First host port of the vLLM backends (bound to 127.0.0.1 only); model i gets `backendBasePort + i`.
   * @default 8001
   */
  readonly backendBasePort?: number;
}
