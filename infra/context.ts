/**
 * @module
 * Reads the deployment settings from the cdktf.json `context` block, the same way for `cdktf synth` (which passes
 * the context as `CDKTF_CONTEXT_JSON`), `tsx infra/main.ts` and `npm run preflight` (which read cdktf.json).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSettings, SettingsError, type Settings } from './config.ts';

/** The repository root (where cdktf.json lives). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Keys cdktf itself puts into the context; they are not deployment settings. */
function isCdktfKey(key: string): boolean {
  return (
    key.startsWith('cdktf') ||
    key === 'excludeStackIdFromLogicalIds' ||
    key === 'allowSepCharsInLogicalIds'
  );
}

/** The raw context object: `CDKTF_CONTEXT_JSON` when set (cdktf CLI), else cdktf.json's `context`. */
export function readRawContext(
  env: NodeJS.ProcessEnv = process.env,
  cdktfJsonPath = resolve(REPO_ROOT, 'cdktf.json'),
): Record<string, unknown> {
  let raw: unknown;
  if (env.CDKTF_CONTEXT_JSON) {
    raw = JSON.parse(env.CDKTF_CONTEXT_JSON);
  } else {
    try {
      raw =
        (JSON.parse(readFileSync(cdktfJsonPath, 'utf8')) as { context?: unknown }).context ?? {};
    } catch (err) {
      throw new SettingsError(`cannot read ${cdktfJsonPath}: ${(err as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SettingsError('the cdktf.json "context" must be an object');
  }
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !isCdktfKey(k)));
}

/** Reads and validates the deployment settings. */
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  cdktfJsonPath?: string,
): Settings {
  return parseSettings(readRawContext(env, cdktfJsonPath));
}
