/**
 * @module
 * `npm run build`: bundles the controller into ONE ES module, `dist/controller.mjs`, that runs on a bare Node 20+
 * with no node_modules (the AWS hosts run it in the official Node image; the stack uploads it to S3).
 * Everything is bundled except Node's builtins, including the web pages' compiled scripts and styles and the
 * calibration reference corpus. CommonJS dependencies (pino, ...) call `require` and read
 * `__dirname`, which ES modules lack, so a banner defines both from `import.meta.url`.
 *
 * Usage: npm run build [-- --entry controller/main.ts --out dist/controller.mjs]
 */
import { REFERENCE_CORPUS_PATH } from '../controller/calibration/reference-corpus.ts';
import { embedWebAssets } from './lib/embed-web-assets.ts';
import { isMainModule } from './lib/main-module.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @default entry `controller/main.ts`, outFile `dist/controller.mjs` (both relative to the repository root) */
export interface BundleOptions {
  readonly entry?: string;
  readonly outFile?: string;
}

export interface BundleResult {
  /** Absolute path of the bundle. */
  readonly outFile: string;
  /** Hex SHA-256 of the bundle (`HostSettings.bundleSha256`). */
  readonly sha256: string;
  readonly bytes: number;
}

const BANNER = [
  "import { createRequire as __epCreateRequire } from 'node:module';",
  "import { fileURLToPath as __epFileURLToPath } from 'node:url';",
  "import { dirname as __epDirname } from 'node:path';",
  'const require = __epCreateRequire(import.meta.url);',
  'const __filename = __epFileURLToPath(import.meta.url);',
  'const __dirname = __epDirname(__filename);',
].join('\n');

/**
 * Builds the controller bundle.
 * @example const { outFile, sha256 } = await buildControllerBundle(); // dist/controller.mjs
 */
export async function buildControllerBundle(opts: BundleOptions = {}): Promise<BundleResult> {
  const entry = resolve(ROOT, opts.entry ?? 'controller/main.ts');
  const outFile = resolve(ROOT, opts.outFile ?? 'dist/controller.mjs');
  // The parse pool's worker travels inside the bundle as source text (a Worker evaluates it), so the bundle
  // stays one file; it is a small CommonJS script that needs nothing but Node's builtins.
  const worker = await build({
    entryPoints: [resolve(ROOT, 'controller/backends/parse-worker.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  const workerSource = worker.outputFiles[0]?.text;
  if (!workerSource) throw new Error('the parse worker did not build');
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    splitting: false,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Builtins stay imports (platform node); every package is inlined.
    packages: 'bundle',
    // Entries outside the repository (test fixtures) still resolve packages from its node_modules.
    nodePaths: [resolve(ROOT, 'node_modules')],
    banner: { js: BANNER },
    define: {
      __EP_PARSE_WORKER_SOURCE__: JSON.stringify(workerSource),
      // The reference corpus (~3 MB) rides in the one file too: a host makes its calibration from it.
      __EP_REFERENCE_CORPUS__: JSON.stringify(readFileSync(REFERENCE_CORPUS_PATH, 'utf8')),
    },
    // The docs page and the playground: compiled now and carried inside the bundle.
    plugins: [embedWebAssets()],
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const data = readFileSync(outFile);
  return { outFile, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, out: { type: 'string' } } });
  const result = await buildControllerBundle({ entry: values.entry, outFile: values.out });
  console.log(
    `${result.outFile} ${(result.bytes / 1024 / 1024).toFixed(1)} MiB sha256 ${result.sha256}`,
  );
}
