/**
 * @module
 * The contract between the CDKTF stack (infra/) and the host bootstrap (infra/host/): what one GPU host must run.
 * The stack validates settings (infra/config.ts) and hands these plain values to the host renderers.
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
  /** S3 location of the controller bundle (`s3://bucket/key`). */
  readonly bundleS3Uri: string;
  /** S3 location of the rendered host config JSON (`s3://bucket/key`). */
  readonly hostConfigS3Uri: string;
  /** Secrets Manager id of the Hugging Face token. */
  readonly hfTokenSecretId: string;
  /** Secrets Manager id of the API key store. */
  readonly apiKeySecretId: string;
  /** CloudWatch log group for containers on the host. */
  readonly logGroupName: string;
  /** Port the controller listens on (the ALB target port). */
  readonly controllerPort: number;
}
