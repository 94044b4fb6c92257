/**
 * @module
 * A neutral description of one container, rendered two ways: `docker run` argv for the systemd units on an
 * AWS host (docker-run.ts) and a compose service for a single box without AWS (compose.ts). Both renderers
 * read only this, which is what keeps the two deployments describing the same containers.
 */

/** A bind mount; a side that leaves its source unset does not mount it. */
export interface VolumeSpec {
  /** Source path on an AWS host (systemd units). */
  readonly hostPath?: string;
  /** Source in images/compose.yaml: a path relative to images/, or a named volume. */
  readonly composeSource?: string;
  /** Path inside the container. */
  readonly target: string;
  readonly readOnly: boolean;
}

/** A port published on the host's loopback only: backends are never reachable from outside the host. */
export interface PortSpec {
  readonly hostPort: number;
  readonly containerPort: number;
}

export interface ContainerSpec {
  /** Container name; also the compose service name and the systemd unit stem. */
  readonly name: string;
  readonly image: string;
  /** Replaces the image's ENTRYPOINT. @default - the image's own */
  readonly entrypoint?: string;
  /** Arguments after the image name. */
  readonly command: readonly string[];
  /** GPU indices passed to the NVIDIA runtime; empty: no GPU. */
  readonly gpus: readonly number[];
  readonly ports: readonly PortSpec[];
  /** Share the host network (the controller: it must reach 127.0.0.1 backends and IMDS as a host process). */
  readonly hostNetwork: boolean;
  /** Share the host IPC namespace (vLLM: PyTorch/NCCL shared memory between tensor-parallel workers). */
  readonly hostIpc: boolean;
  /** Run an init process as PID 1 so SIGTERM reaches the program and zombies are reaped. */
  readonly init: boolean;
  /** `uid[:gid]` or a user name of the image. @default - the image's user */
  readonly user?: string;
  /** Plain environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Secret variables by name: from the host's env file on AWS, passed through from the shell in compose. */
  readonly secretEnv: readonly string[];
  readonly volumes: readonly VolumeSpec[];
  /** Runs to completion (the model download) instead of serving until stopped. */
  readonly oneShot: boolean;
  /** One-shot containers that must finish successfully before this one starts. */
  readonly after: readonly string[];
}
