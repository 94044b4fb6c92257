/**
 * @module
 * Renders a ContainerSpec as `docker run` arguments for a systemd unit on an AWS host: loopback-only ports,
 * the host's secret env file, and container logs shipped by dockerd's awslogs driver (dockerd runs on the host,
 * so it uses the instance role; the containers themselves get no AWS credentials).
 */
import type { ContainerSpec } from './container-spec.ts';
import { HOST_PATHS } from './paths.ts';

/** Where dockerd sends a container's output. */
export interface AwsLogging {
  readonly logGroupName: string;
  readonly region: string;
  /** Log stream; may contain `%H`, which the systemd renderer keeps as the host name specifier. */
  readonly stream: string;
}

/** The NVIDIA toolkit parses `--gpus` as CSV, so a list needs the inner double quotes: `"device=0,1"`. */
export function gpuFlagValue(gpus: readonly number[]): string {
  return `"device=${gpus.join(',')}"`;
}

/** Arguments after `docker` (starting with `run`). The container is removed when it stops: systemd restarts it. */
export function dockerRunArgs(spec: ContainerSpec, logging?: AwsLogging): string[] {
  const args = ['run', '--rm', '--name', spec.name];
  if (spec.init) args.push('--init');
  if (spec.user) args.push('--user', spec.user);
  if (spec.hostNetwork) args.push('--network', 'host');
  if (spec.hostIpc) args.push('--ipc', 'host');
  if (spec.gpus.length > 0) args.push('--gpus', gpuFlagValue(spec.gpus));
  for (const p of spec.ports) args.push('--publish', `127.0.0.1:${p.hostPort}:${p.containerPort}`);
  for (const [k, v] of Object.entries(spec.env)) args.push('--env', `${k}=${v}`);
  // Secret values never appear in a unit or on a command line: they come from the boot-time env file.
  if (spec.secretEnv.length > 0) args.push('--env-file', HOST_PATHS.hfEnv);
  for (const v of spec.volumes) {
    if (v.hostPath) args.push('--volume', `${v.hostPath}:${v.target}${v.readOnly ? ':ro' : ''}`);
  }
  if (logging) {
    args.push(
      '--log-driver',
      'awslogs',
      '--log-opt',
      `awslogs-region=${logging.region}`,
      '--log-opt',
      `awslogs-group=${logging.logGroupName}`,
      '--log-opt',
      `awslogs-stream=${logging.stream}`,
      // Never block the container on CloudWatch: a slow or unreachable endpoint must not stall vLLM.
      '--log-opt',
      'mode=non-blocking',
      '--log-opt',
      'max-buffer-size=4m',
    );
  }
  if (spec.entrypoint) args.push('--entrypoint', spec.entrypoint);
  args.push(spec.image, ...spec.command);
  return args;
}
