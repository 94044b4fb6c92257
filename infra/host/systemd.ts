/**
 * @module
 * systemd units for a host, rendered from ContainerSpecs: the model download, a template for the vLLM servers
 * (`ep-vllm@<model>.service`), the controller, and `ep-boot.service`, which runs the boot script on every boot. Containers are not managed by a docker restart policy: systemd owns the
 * lifecycle (ordering after the boot script, restart with back-off, logs), and `docker rm -f` before each start
 * guarantees one container per unit even after an unclean shutdown.
 */
import type { ContainerSpec } from './container-spec.ts';
import { dockerRunArgs, gpuFlagValue, type AwsLogging } from './docker-run.ts';
import { HOST_PATHS } from './paths.ts';
import type { PlacedModel } from './placement.ts';

export const BOOT_UNIT = 'ep-boot.service';
export const WATCHDOG_UNIT = 'ep-watchdog.service';
/** Ships the journal of the host's own units (boot script, download, watchdog) to CloudWatch. */
export const BOOT_LOG_UNIT = 'ep-boot-log.service';
const DOCKER = '/usr/bin/docker';

/** Unit file name of a container. */
export function unitName(containerName: string): string {
  return `${containerName}.service`;
}

/**
 * Quotes one argument for an `Exec*=` line: `%` and `$` are doubled (specifiers, variables); anything else
 * unusual goes in single quotes, or double quotes with escapes when it contains a single quote or backslash.
 */
export function systemdWord(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%$+=:,./{}-]+$/.test(escaped)) return escaped;
  if (!/['\\]/.test(escaped)) return `'${escaped}'`;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * References a unit may keep unescaped: `%H` (host name) and `%i` (template instance) specifiers, `${EP_...}`
 * variables (one word each) and `$EP_VLLM_ARGS` (split into words) from the units' environment files.
 */
function keepReferences(word: string): string {
  return word
    .replace(/%%([Hi])/g, '%$1')
    .replace(/\$\$\{(EP_[A-Z0-9_]+)\}/g, '${$1}')
    .replace(/^\$\$EP_VLLM_ARGS$/, '$EP_VLLM_ARGS');
}

/** An `Exec*=` command, a flag and its value per continuation line so a person can read the docker flags. */
function execLine(key: string, argv: readonly string[], ownLine?: string): string {
  const words = argv.map((a) => keepReferences(systemdWord(a)));
  const lines: string[] = [];
  let line = `${key}=${words[0] ?? ''}`;
  for (const w of words.slice(1)) {
    if (w.startsWith('-') || w.startsWith('$EP_') || w === ownLine) {
      lines.push(line);
      line = `  ${w}`;
    } else {
      line += ` ${w}`;
    }
  }
  lines.push(line);
  return lines.join(' \\\n');
}

/** Log shipping of every container unit: the region and group come from host.env. */
export function unitLogging(containerName: string): AwsLogging {
  return { region: '${EP_REGION}', logGroupName: '${EP_LOG_GROUP}', stream: `%H/${containerName}` };
}

interface ServiceOptions {
  readonly description: string;
  /** Container name (may contain `%i` in a template). */
  readonly name: string;
  readonly oneShot: boolean;
  readonly image: string;
  /** `docker run` argv (after `docker`). */
  readonly runArgs: readonly string[];
  readonly environmentFiles: readonly string[];
}

/**
 * A container unit. Servers restart forever with a back-off (a vLLM that dies is replaced) and start only after
 * ep-boot.service succeeded: it mounted the cache and ran the download (the order compose expresses with
 * `ContainerSpec.after`); Requires= keeps them down while the boot script keeps failing. The one-shot download is
 * started and awaited by the boot script, never enabled on its own.
 */
function serviceUnit(o: ServiceOptions): string {
  const boot = o.oneShot ? [] : [BOOT_UNIT];
  const lines = [
    '[Unit]',
    `Description=${o.description}`,
    `After=${['docker.service', 'network-online.target', ...boot].join(' ')}`,
    `Requires=${['docker.service', ...boot].join(' ')}`,
    'Wants=network-online.target',
    // No start-rate limit: a server waiting for its GPU or the cache keeps trying.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    ...o.environmentFiles.map((f) => `EnvironmentFile=${f}`),
  ];
  if (o.oneShot) {
    lines.push('Type=oneshot', 'RemainAfterExit=yes', 'TimeoutStartSec=3h');
  } else {
    lines.push('Restart=always', 'RestartSec=10', 'TimeoutStartSec=0', 'TimeoutStopSec=60');
  }
  lines.push(
    execLine('ExecStartPre', [`-${DOCKER}`, 'rm', '-f', o.name]),
    execLine('ExecStart', [DOCKER, ...o.runArgs], systemdWord(o.image)),
  );
  if (!o.oneShot) {
    lines.push(execLine('ExecStop', [DOCKER, 'stop', '--time', '50', o.name]));
    lines.push('', '[Install]', 'WantedBy=multi-user.target');
  }
  return `${lines.join('\n')}\n`;
}

/** The unit of one container (`<name>.service`). */
export function containerUnit(spec: ContainerSpec): string {
  return serviceUnit({
    description: `Ensembled Perplexity container ${spec.name}`,
    name: spec.name,
    oneShot: spec.oneShot,
    image: spec.image,
    runArgs: dockerRunArgs(spec, unitLogging(spec.name)),
    environmentFiles: [HOST_PATHS.hostEnv],
  });
}

/** Template of the vLLM server units; instance `%i` is the model's name slug. */
export const VLLM_TEMPLATE = 'ep-vllm@.service';
const VLLM_PREFIX = 'ep-vllm-';

/** Instance unit of one placed model, e.g. `ep-vllm@phi-2.service`. */
export function vllmUnitName(placed: PlacedModel): string {
  return `ep-vllm@${placed.containerName.slice(VLLM_PREFIX.length)}.service`;
}

/** Per-instance environment file of the template. */
export function vllmEnvPath(placed: PlacedModel): string {
  return `${HOST_PATHS.vllmEnvDir}/${placed.containerName.slice(VLLM_PREFIX.length)}.env`;
}

/**
 * The template unit of every vLLM server: the `docker run` of any server (they differ only in name, GPUs, port
 * and serve arguments) with those values replaced by `%i` and the instance's environment file. One template
 * plus a few plain lines per model keeps user data small enough for eight models.
 */
export function vllmTemplateUnit(
  servers: readonly ContainerSpec[],
  placed: readonly PlacedModel[],
): string {
  const [example, examplePlaced] = [servers[0], placed[0]];
  if (!example || !examplePlaced) throw new Error('a vLLM template needs at least one server');
  // Anything else that differed between servers would be lost in the template: refuse instead.
  const shared = (s: ContainerSpec) =>
    JSON.stringify({ ...s, name: '', gpus: [], ports: [], command: [] });
  const odd = servers.find((s) => shared(s) !== shared(example));
  if (odd)
    throw new Error(
      `vLLM server ${odd.name} differs from ${example.name} beyond GPUs, port and arguments`,
    );
  const name = `${VLLM_PREFIX}%i`;
  const args = dockerRunArgs(example, unitLogging(name));
  const imageAt = args.indexOf(example.image);
  const head = args.slice(0, imageAt).map((a, i) => {
    if (a === example.name && args[i - 1] === '--name') return name;
    if (args[i - 1] === '--gpus') return '${EP_GPUS}';
    if (args[i - 1] === '--publish') return a.replace(`:${examplePlaced.port}:`, ':${EP_PORT}:');
    return a;
  });
  return serviceUnit({
    description: 'Ensembled Perplexity vLLM server %i',
    name,
    oneShot: false,
    image: example.image,
    runArgs: [...head, example.image, '$EP_VLLM_ARGS'],
    environmentFiles: [HOST_PATHS.hostEnv, `${HOST_PATHS.vllmEnvDir}/%i.env`],
  });
}

/** A value the template passes through `$EP_VLLM_ARGS`, which systemd splits at whitespace and unquotes. */
function plainWord(model: string, arg: string): string {
  if (!/^[^\s'"\\$%`]+$/.test(arg)) {
    throw new Error(
      `model ${model}: vLLM argument ${JSON.stringify(arg)} may not contain spaces, quotes, $, % or \\`,
    );
  }
  return arg;
}

/** The environment file of one vLLM instance: its GPUs, port and serve arguments, in plain text. */
export function vllmInstanceEnv(spec: ContainerSpec, placed: PlacedModel): string {
  const name = placed.model.servedName;
  return [
    `# ${vllmUnitName(placed)}: ${placed.model.hfId} on GPU ${placed.gpuIndices.join(',')}, 127.0.0.1:${placed.port}`,
    `EP_GPUS='${gpuFlagValue(spec.gpus)}'`,
    `EP_PORT='${placed.port}'`,
    `EP_VLLM_ARGS='${spec.command.map((a) => plainWord(name, a)).join(' ')}'`,
    '',
  ].join('\n');
}

/**
 * The boot unit: runs ep-boot.sh on every boot (mount the cache, pull images, wait for the token, refresh the
 * bundle, download, start the containers). It retries on failure.
 *
 * No ordering against cloud-init's stages: on Ubuntu, cloud-final.service runs after multi-user.target, which
 * wants this unit, so `After=cloud-final.service` would be an ordering cycle that systemd breaks by dropping a
 * job (possibly this one) on every later boot. On the first boot cloud-init's runcmd starts the unit after
 * writing it; later boots start it from multi-user.target.
 */
export function bootUnit(): string {
  return `[Unit]
Description=Ensembled Perplexity host bootstrap
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${HOST_PATHS.bootScript}
Restart=on-failure
RestartSec=30
TimeoutStartSec=4h

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The watchdog: publishes the host's vLLM work for target tracking, protects a working host from scale-in, and
 * marks the host unhealthy in its Auto Scaling group after sustained failure (ep-watchdog.sh).
 */
export function watchdogUnit(): string {
  return `[Unit]
Description=Ensembled Perplexity host watchdog
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
EnvironmentFile=${HOST_PATHS.hostEnv}
ExecStart=${HOST_PATHS.watchdogScript}
Restart=always
RestartSec=30

[Install]
WantedBy=multi-user.target
`;
}

/**
 * Sends the journal of this boot's own units to the log group, one stream per host (\`<host>/ep-boot\`), through
 * Docker's awslogs driver in the (small, pinned) Node image: what the boot script says, including why a host
 * waits or a model is unavailable, is in CloudWatch next to the containers' logs, without a CloudWatch agent.
 */
export function bootLogUnit(nodeImage: string): string {
  const units = [BOOT_UNIT, 'ep-model-download.service', WATCHDOG_UNIT]
    .map((u) => `-u ${u}`)
    .join(' ');
  const run = [
    DOCKER,
    'run',
    '--rm',
    '-i',
    '--name',
    'ep-boot-log',
    '--log-driver',
    'awslogs',
    '--log-opt',
    'awslogs-region=$${EP_REGION}',
    '--log-opt',
    'awslogs-group=$${EP_LOG_GROUP}',
    '--log-opt',
    'awslogs-stream=%H/ep-boot',
    '--log-opt',
    'mode=non-blocking',
    nodeImage,
    'cat',
  ].join(' ');
  return `[Unit]
Description=Ensembled Perplexity boot log shipping
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
EnvironmentFile=${HOST_PATHS.hostEnv}
ExecStartPre=-${DOCKER} rm -f ep-boot-log
ExecStart=/bin/sh -c 'journalctl --boot --follow --output=short-iso ${units} | ${run}'
Restart=always
RestartSec=15

[Install]
WantedBy=multi-user.target
`;
}
