/**
 * @module
 * Where things live on a GPU host. The host scripts (ep-lib.sh, ep-boot.sh, ep-calibration-sync.sh) have the same
 * paths as defaults of their `EP_*` variables (a test checks they agree); tests override those variables to run
 * them in a temp dir.
 */
export const HOST_PATHS = {
  /** Settings written by cloud-init, read by every host script through ep-lib.sh (`EP_HOST_ENV`). */
  hostEnv: '/etc/ep/host.env',
  /** Directory of host-only files (`EP_ETC_DIR`): the token env file and the controller config. */
  etcDir: '/etc/ep',
  /** `HF_TOKEN=...`, mode 0600, written at boot from Secrets Manager; read by the download container. */
  hfEnv: '/etc/ep/hf.env',
  /** Controller config fetched from S3 (`EP_CONFIG` inside the controller container). */
  hostConfig: '/etc/ep/host-config.json',
  /** One environment file per vLLM server (`<model>.env`: GPUs, port, serve arguments) for `ep-vllm@.service`. */
  vllmEnvDir: '/etc/ep/vllm',
  /** Scripts written by cloud-init. */
  binDir: '/opt/ep/bin',
  bootScript: '/opt/ep/bin/ep-boot.sh',
  /**
   * What the shell scripts share (strict mode, `log`, host.env, IMDS), sourced by each from its own directory:
   * it must stay in `binDir` beside them. Not executable.
   */
  scriptLibrary: '/opt/ep/bin/ep-lib.sh',
  downloadScript: '/opt/ep/bin/download-models.py',
  /** Directory holding `controller.mjs` fetched from S3 (`EP_BUNDLE_DIR`). */
  bundleDir: '/opt/ep/controller',
  /**
   * Model cache every vLLM container mounts: a symlink the boot script points at the instance-store NVMe
   * (or at the root volume when the instance has none), so unit files never depend on the disk layout.
   */
  hfCache: '/var/lib/ep/hf-cache',
  /**
   * vLLM's own cache (torch.compile artifacts, CUDA graph warm-up), shared by the servers: a symlink next to the
   * model cache on the instance store, so a restarted server does not compile again.
   */
  vllmCache: '/var/lib/ep/vllm-cache',
  /** The watchdog (ep-watchdog.service). */
  watchdogScript: '/opt/ep/bin/ep-watchdog.sh',
  /** Keeps the calibration file and its copy in the artifacts bucket in step (run by boot script and watchdog). */
  calibrationSyncScript: '/opt/ep/bin/ep-calibration-sync.sh',
  /**
   * The controller's calibration file lives here (`calibration.json`), mounted read-write into the controller
   * container at the same path: the controller makes the file on the first healthy boot, the sync script copies
   * it to and from the artifacts bucket. Owned by the container's user (uid 1000).
   */
  calibrationDir: '/var/lib/ep/calibration',
  systemdDir: '/etc/systemd/system',
} as const;

/** File name of the controller bundle, in `HOST_PATHS.bundleDir` and in `dist/`. */
export const BUNDLE_FILE = 'controller.mjs';
