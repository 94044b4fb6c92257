/**
 * @module
 * Whether a script file is the process entry (`tsx scripts/x.ts`) rather than imported by a test or another
 * script, so each script can export its main function and still run on its own.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Call with the script's own `import.meta.url`. Symlinked entries (npx, node_modules/.bin) resolve first. */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}
