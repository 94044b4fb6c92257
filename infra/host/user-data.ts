/**
 * @module
 * The EC2 user data of a GPU host: a `#cloud-config` that writes the boot script, its settings and the systemd
 * units, then starts `ep-boot.service` (which runs the script now and on every later boot).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { hostContainers } from './host-containers.ts';
import { HOST_PATHS } from './paths.ts';
import { placeHostModels } from './placement.ts';
import {
  BOOT_UNIT,
  bootUnit,
  containerUnit,
  unitName,
  VLLM_TEMPLATE,
  vllmEnvPath,
  vllmInstanceEnv,
  vllmTemplateUnit,
  vllmUnitName,
} from './systemd.ts';
import type { HostSettings } from './types.ts';

/** EC2 rejects user data over 16 KB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

const BOOT_SCRIPT = new URL('./ep-boot.sh', import.meta.url);
const DOWNLOAD_SCRIPT = new URL('./download-models.py', import.meta.url);

/** A `KEY='value'` line that both bash (the boot script) and systemd (`EnvironmentFile=`) read the same way. */
function envLine(key: string, value: string): string {
  if (/['\n\\]/.test(value))
    throw new Error(`${key}: a setting may not contain quotes, backslashes or newlines`);
  return `${key}='${value}'`;
}

/**
 * The settings file: sourced by the boot script (`EP_HOST_ENV`) and read by every container unit. Every value
 * from HostSettings that is not model placement lives here, in plain text, so the stack may substitute
 * apply-time values (placeholders) here even though the scripts and units are compressed.
 */
export function renderHostEnv(
  settings: HostSettings,
  units: { download: string; servers: string[] },
): string {
  const gpusNeeded = settings.models.reduce((n, m) => n + m.gpus, 0);
  const values: Record<string, string> = {
    EP_DEPLOYMENT: settings.deploymentName,
    EP_REGION: settings.region,
    EP_LOG_GROUP: settings.logGroupName,
    EP_GPUS_NEEDED: String(gpusNeeded),
    EP_HF_TOKEN_SECRET_ID: settings.hfTokenSecretId,
    EP_BUNDLE_S3_URI: settings.bundleS3Uri,
    EP_BUNDLE_SHA256: settings.bundleSha256 ?? '',
    EP_HOST_CONFIG_S3_URI: settings.hostConfigS3Uri,
    EP_DOWNLOAD_UNIT: units.download,
    EP_SERVER_UNITS: units.servers.join(' '),
  };
  const lines = Object.entries(values).map(([k, v]) => envLine(k, v));
  return `# Written by cloud-init from infra/host/user-data.ts; read by ${HOST_PATHS.bootScript}.\n${lines.join('\n')}\n`;
}

/** One file cloud-init writes, with its plain content. */
export interface HostFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

function file(path: string, content: string, permissions = '0644'): HostFile {
  return { path, content, permissions };
}

/**
 * The files cloud-init writes on a host, by absolute path (tests lay them out in a temp dir). Throws like
 * `renderUserData`.
 */
export function hostFiles(settings: HostSettings): HostFile[] {
  if (!/^s3:\/\/[^/]+\/.+/.test(settings.bundleS3Uri)) {
    throw new Error(`bundleS3Uri must look like s3://bucket/key, got ${settings.bundleS3Uri}`);
  }
  if (!/^s3:\/\/[^/]+\/.+/.test(settings.hostConfigS3Uri)) {
    throw new Error(
      `hostConfigS3Uri must look like s3://bucket/key, got ${settings.hostConfigS3Uri}`,
    );
  }
  const placed = placeHostModels(settings);
  const c = hostContainers(placed, settings);
  const serverUnits = [...placed.map(vllmUnitName), unitName(c.controller.name)];
  const hostEnv = renderHostEnv(settings, {
    download: unitName(c.download.name),
    servers: serverUnits,
  });
  return [
    file(HOST_PATHS.hostEnv, hostEnv),
    file(HOST_PATHS.bootScript, readFileSync(BOOT_SCRIPT, 'utf8'), '0755'),
    file(HOST_PATHS.downloadScript, readFileSync(DOWNLOAD_SCRIPT, 'utf8')),
    file(`${HOST_PATHS.systemdDir}/${BOOT_UNIT}`, bootUnit()),
    file(`${HOST_PATHS.systemdDir}/${unitName(c.download.name)}`, containerUnit(c.download)),
    file(`${HOST_PATHS.systemdDir}/${VLLM_TEMPLATE}`, vllmTemplateUnit(c.servers, placed)),
    ...placed.map((p, i) => file(vllmEnvPath(p), vllmInstanceEnv(c.servers[i]!, p))),
    file(`${HOST_PATHS.systemdDir}/${unitName(c.controller.name)}`, containerUnit(c.controller)),
  ];
}

/** Files up to this size stay readable in the user data (the settings, the boot unit, per-model env files). */
const PLAIN_MAX_BYTES = 600;

/**
 * A `write_files` entry. Larger files are gzip+base64: the scripts and units together are about 18 KB of
 * text, over EC2's 16 KB limit, and compress about 3×. They stay readable in the repository and on the host.
 * host.env always stays plain: the stack substitutes apply-time values in it.
 */
function writeFileEntry(f: HostFile, plainMaxBytes: number): Record<string, string> {
  const base = { path: f.path, permissions: f.permissions, owner: 'root:root' };
  if (f.path === HOST_PATHS.hostEnv || Buffer.byteLength(f.content) <= plainMaxBytes) {
    return { ...base, content: f.content };
  }
  const packed = gzipSync(f.content, { level: 9 }).toString('base64');
  return { ...base, encoding: 'gz+b64', content: packed };
}

function cloudConfig(files: readonly HostFile[], plainMaxBytes: number): string {
  const doc = {
    write_files: files.map((f) => writeFileEntry(f, plainMaxBytes)),
    // The boot unit runs the script now and on every boot. --no-block: it is ordered after cloud-final,
    // the stage running these commands.
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', BOOT_UNIT],
      ['systemctl', 'start', '--no-block', BOOT_UNIT],
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * Renders the user data of a GPU host.
 * @returns a `#cloud-config` document under 16 KB (pass it base64-encoded to a launch template)
 * @throws Error when the models do not fit on the host, a setting is malformed, or the document is too large
 */
export function renderUserData(settings: HostSettings): string {
  const files = hostFiles(settings);
  let text = cloudConfig(files, PLAIN_MAX_BYTES);
  // Many models (8 on a g6.48xlarge): compress the small per-model files too rather than fail, keeping room
  // for apply-time values the stack substitutes in host.env (a bucket name is up to 63 characters).
  if (Buffer.byteLength(text, 'utf8') > USER_DATA_LIMIT_BYTES - 1024) text = cloudConfig(files, 0);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes >= USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `user data is ${bytes} bytes; EC2 allows ${USER_DATA_LIMIT_BYTES} (fewer models per host?)`,
    );
  }
  return text;
}
