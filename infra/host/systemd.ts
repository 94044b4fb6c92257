/**
 * @module
 * systemd units for a host: one per container (rendered from its ContainerSpec) and `ep-boot.service`, which
 * runs the boot script on every boot. Containers are not managed by a docker restart policy: systemd owns the
 * lifecycle (ordering after the boot script, restart with back-off, logs), and `docker rm -f` before each start
 * guarantees one container per unit even after an unclean shutdown.
 */
import type { ContainerSpec } from './container-spec.ts';
import { dockerRunArgs, type AwsLogging } from './docker-run.ts';
import { HOST_PATHS } from './paths.ts';

export const BOOT_UNIT = 'ep-boot.service';
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
 * References a unit may keep unescaped: `%H` (the host name, in log stream names) and `${EP_...}` variables of
 * host.env, which carries every deployment value so the units stay the same for every deployment.
 */
function keepReferences(word: string): string {
  return word.replace(/%%H/g, '%H').replace(/\$\$\{(EP_[A-Z0-9_]+)\}/g, '${$1}');
}

/** An `Exec*=` command, a flag and its value per continuation line so a person can read the docker flags. */
function execLine(key: string, argv: readonly string[], ownLine?: string): string {
  const words = argv.map((a) => keepReferences(systemdWord(a)));
  const lines: string[] = [];
  let line = `${key}=${words[0] ?? ''}`;
  for (const w of words.slice(1)) {
    if (w.startsWith('-') || w === ownLine) {
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
export const UNIT_LOGGING: Omit<AwsLogging, 'stream'> = {
  region: '${EP_REGION}',
  logGroupName: '${EP_LOG_GROUP}',
};

/**
 * The unit of one container. Servers restart forever with a back-off (a vLLM that dies is replaced); the
 * one-shot download is started and awaited by the boot script, never enabled on its own.
 */
export function containerUnit(spec: ContainerSpec): string {
  const logging: AwsLogging = { ...UNIT_LOGGING, stream: `%H/${spec.name}` };
  // Servers start only after ep-boot.service succeeded: it mounted the cache and ran the download (the order
  // compose expresses with `spec.after`). Requires= keeps them down while the boot script keeps failing.
  const boot = spec.oneShot ? [] : [BOOT_UNIT];
  const lines = [
    '[Unit]',
    `Description=Ensembled Perplexity container ${spec.name}`,
    `After=${['docker.service', 'network-online.target', ...boot].join(' ')}`,
    `Requires=${['docker.service', ...boot].join(' ')}`,
    'Wants=network-online.target',
    // No start-rate limit: a server waiting for its GPU or the cache keeps trying.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `EnvironmentFile=${HOST_PATHS.hostEnv}`,
  ];
  if (spec.oneShot) {
    lines.push('Type=oneshot', 'RemainAfterExit=yes', 'TimeoutStartSec=3h');
  } else {
    lines.push('Restart=always', 'RestartSec=10', 'TimeoutStartSec=0', 'TimeoutStopSec=60');
  }
  lines.push(
    execLine('ExecStartPre', [`-${DOCKER}`, 'rm', '-f', spec.name]),
    execLine('ExecStart', [DOCKER, ...dockerRunArgs(spec, logging)], systemdWord(spec.image)),
  );
  if (!spec.oneShot) {
    lines.push(execLine('ExecStop', [DOCKER, 'stop', '--time', '50', spec.name]));
    lines.push('', '[Install]', 'WantedBy=multi-user.target');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The boot unit: runs ep-boot.sh on every boot (mount the cache, refresh the token and bundle, start the
 * containers). It retries on failure, e.g. while the Hugging Face token secret has no value yet.
 */
export function bootUnit(): string {
  return `[Unit]
Description=Ensembled Perplexity host bootstrap
After=docker.service network-online.target cloud-final.service
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
