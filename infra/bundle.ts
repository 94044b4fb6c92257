/**
 * @module
 * Finds the controller bundle the stack uploads: a prebuilt file named by the `controllerBundle` setting, or a fresh
 * build of controller/main.ts by scripts/build-bundle.ts (`dist/controller.mjs`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SettingsError, type Settings } from './config.ts';
import { REPO_ROOT } from './context.ts';

/** What scripts/build-bundle.ts exports (owned by the controller packaging). */
interface BundleBuilder {
  buildControllerBundle(opts: { entry: string; outFile: string }): Promise<unknown> | unknown;
}

/** A bundle file and, when the builder reports it, its hex sha256. */
export interface ControllerBundle {
  readonly path: string;
  readonly sha256?: string;
}

/**
 * The bundle to upload.
 * @param root repository root (tests pass a temp dir)
 * @throws SettingsError when `controllerBundle` names a missing file, or there is neither it nor a builder
 */
export async function resolveControllerBundle(
  settings: Pick<Settings, 'controllerBundle'>,
  root = REPO_ROOT,
): Promise<ControllerBundle> {
  if (settings.controllerBundle) {
    const path = resolve(root, settings.controllerBundle);
    if (!existsSync(path)) throw new SettingsError(`controllerBundle: ${path} does not exist`);
    return { path };
  }
  const builderPath = resolve(root, 'scripts/build-bundle.ts');
  if (!existsSync(builderPath)) {
    throw new SettingsError(
      'no controller bundle: scripts/build-bundle.ts is missing; build one and set "controllerBundle" in the ' +
        'cdktf.json context to its path',
    );
  }
  const builder = (await import(pathToFileURL(builderPath).href)) as BundleBuilder;
  const outFile = resolve(root, 'dist/controller.mjs');
  const result = await builder.buildControllerBundle({
    entry: resolve(root, 'controller/main.ts'),
    outFile,
  });
  const sha256 = (result as { sha256?: unknown } | undefined)?.sha256;
  return { path: outFile, ...(typeof sha256 === 'string' ? { sha256 } : {}) };
}
