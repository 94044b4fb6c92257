/**
 * @module
 * The EC2 user data of a GPU host: a `#cloud-config` that writes the host scripts and their library, their
 * settings and the systemd units, then starts `ep-boot.service` (which runs the script now and on every later boot).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { defaultMinModels } from './host-config.ts';
import { hostContainers } from './host-containers.ts';
import { HOST_PATHS } from './paths.ts';
import { placeHostModels, type PlacedModel } from './placement.ts';
import {
  BOOT_LOG_UNIT,
  BOOT_UNIT,
  bootLogUnit,
  bootUnit,
  containerUnit,
  unitName,
  VLLM_TEMPLATE,
  vllmEnvPath,
  vllmInstanceEnv,
  vllmTemplateUnit,
  vllmUnitName,
  WATCHDOG_UNIT,
  watchdogUnit,
} from './systemd.ts';
import type { HostSettings } from './types.ts';

/** EC2 rejects user data over 16 KB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

const SCRIPT_LIBRARY = new URL('./ep-lib.sh', import.meta.url);
const BOOT_SCRIPT = new URL('./ep-boot.sh', import.meta.url);
const DOWNLOAD_SCRIPT = new URL('./download-models.py', import.meta.url);
const WATCHDOG_SCRIPT = new URL('./ep-watchdog.sh', import.meta.url);
const CALIBRATION_SYNC_SCRIPT = new URL('./ep-calibration-sync.sh', import.meta.url);

/** Host-side metrics namespace (the stack grants `cloudwatch:PutMetricData` for this namespace only). */
export const HOST_METRICS_NAMESPACE = 'EnsembledPerplexity';

/** The marker download-models.py writes for a model (`ep-complete/` or `ep-failed/<marker>`). */
export function downloadMarker(p: PlacedModel): string {
  return `${p.model.hfId.replace('/', '--')}@${p.model.revision ?? 'default'}`;
}

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
  units: {
    download: string;
    servers: string[];
    models?: { unit: string; marker: string; name: string }[];
  },
): string {
  const gpusNeeded = settings.models.reduce((n, m) => n + m.gpus, 0);
  const placed = placeHostModels(settings);
  const values: Record<string, string> = {
    EP_DEPLOYMENT: settings.deploymentName,
    EP_REGION: settings.region,
    EP_LOG_GROUP: settings.logGroupName,
    EP_GPUS_NEEDED: String(gpusNeeded),
    EP_HF_TOKEN_SECRET_ID: settings.hfTokenSecretId,
    EP_BUNDLE_S3_URI: settings.bundleS3Uri,
    EP_BUNDLE_SHA256: settings.bundleSha256 ?? '',
    EP_HOST_CONFIG_S3_URI: settings.hostConfigS3Uri,
    EP_CALIBRATION_S3_URI: settings.calibrationS3Uri ?? '',
    EP_DOWNLOAD_UNIT: units.download,
    EP_SERVER_UNITS: units.servers.join(' '),
    // Each vLLM unit, the download marker of its model (download-models.py's naming) and its served name.
    EP_MODEL_UNITS: (units.models ?? []).map((m) => `${m.unit}=${m.marker}=${m.name}`).join(' '),
    EP_MIN_MODELS: String(settings.minModels ?? defaultMinModels(settings.models.length)),
    EP_IMAGES: [...new Set([settings.vllmImage, settings.nodeImage])].join(' '),
    EP_DOCKERHUB_SECRET_ID: settings.dockerHubSecretId ?? '',
    EP_ASG_NAME: settings.autoScalingGroupName ?? `${settings.deploymentName}-hosts`,
    EP_WATCHDOG_MINUTES: String(settings.watchdogMinutes ?? 15),
    EP_METRICS_NAMESPACE: HOST_METRICS_NAMESPACE,
    EP_CONTROLLER_PORT: String(settings.controllerPort),
    EP_BACKEND_PORTS: placed.map((p) => String(p.port)).join(' '),
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
  if (
    settings.calibrationS3Uri !== undefined &&
    !/^s3:\/\/[^/]+\/.+/.test(settings.calibrationS3Uri)
  ) {
    throw new Error(
      `calibrationS3Uri must look like s3://bucket/key, got ${settings.calibrationS3Uri}`,
    );
  }
  const placed = placeHostModels(settings);
  const c = hostContainers(placed, settings);
  const serverUnits = [...placed.map(vllmUnitName), unitName(c.controller.name)];
  const hostEnv = renderHostEnv(settings, {
    download: unitName(c.download.name),
    servers: serverUnits,
    models: placed.map((p) => ({
      unit: vllmUnitName(p),
      marker: downloadMarker(p),
      name: p.model.servedName,
    })),
  });
  return [
    file(HOST_PATHS.hostEnv, hostEnv),
    file(HOST_PATHS.scriptLibrary, readFileSync(SCRIPT_LIBRARY, 'utf8')),
    file(HOST_PATHS.bootScript, readFileSync(BOOT_SCRIPT, 'utf8'), '0755'),
    file(HOST_PATHS.downloadScript, readFileSync(DOWNLOAD_SCRIPT, 'utf8')),
    file(HOST_PATHS.watchdogScript, readFileSync(WATCHDOG_SCRIPT, 'utf8'), '0755'),
    file(HOST_PATHS.calibrationSyncScript, readFileSync(CALIBRATION_SYNC_SCRIPT, 'utf8'), '0755'),
    file(`${HOST_PATHS.systemdDir}/${BOOT_UNIT}`, bootUnit()),
    file(`${HOST_PATHS.systemdDir}/${WATCHDOG_UNIT}`, watchdogUnit()),
    file(`${HOST_PATHS.systemdDir}/${BOOT_LOG_UNIT}`, bootLogUnit(settings.nodeImage)),
    file(`${HOST_PATHS.systemdDir}/${unitName(c.download.name)}`, containerUnit(c.download)),
    file(`${HOST_PATHS.systemdDir}/${VLLM_TEMPLATE}`, vllmTemplateUnit(c.servers, placed)),
    ...placed.map((p, i) => file(vllmEnvPath(p), vllmInstanceEnv(c.servers[i]!, p))),
    file(`${HOST_PATHS.systemdDir}/${unitName(c.controller.name)}`, containerUnit(c.controller)),
  ];
}

/** A `write_files` entry, in plain text: the whole document is gzip-compressed instead (see renderUserData). */
function writeFileEntry(f: HostFile): Record<string, string> {
  return { path: f.path, permissions: f.permissions, owner: 'root:root', content: f.content };
}

function cloudConfig(files: readonly HostFile[]): string {
  const doc = {
    write_files: files.map(writeFileEntry),
    // The boot unit runs the script now and on every boot (multi-user.target wants it). --no-block: cloud-init
    // must not wait for a script that may wait hours for the Hugging Face token.
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', BOOT_UNIT, WATCHDOG_UNIT, BOOT_LOG_UNIT],
      ['systemctl', 'start', '--no-block', BOOT_UNIT, WATCHDOG_UNIT, BOOT_LOG_UNIT],
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/** Bytes EC2 counts for this user data once gzip-compressed (as the launch template sends it). */
export function compressedUserDataBytes(text: string): number {
  return gzipSync(text, { level: 9 }).length;
}

/**
 * Renders the user data of a GPU host: every file in plain text, readable in the launch template once decoded.
 * The launch template sends it gzip-compressed (`base64gzip`), which cloud-init unpacks: the scripts and units
 * are about 30 KB of text, over EC2's 16 KB limit, and the whole document compresses about 3×.
 * @returns a `#cloud-config` document whose gzip form is under 16 KB with 1 KB to spare for apply-time values
 * @throws Error when the models do not fit on the host, a setting is malformed, or the document is too large
 */
export function renderUserData(settings: HostSettings): string {
  const text = cloudConfig(hostFiles(settings));
  const bytes = compressedUserDataBytes(text);
  if (bytes >= USER_DATA_LIMIT_BYTES - 1024) {
    throw new Error(
      `user data is ${bytes} bytes gzip-compressed; EC2 allows ${USER_DATA_LIMIT_BYTES} (fewer models per host?)`,
    );
  }
  return text;
}
