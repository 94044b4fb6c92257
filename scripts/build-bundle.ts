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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
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
  const bundle = await build({
    entryPoints: [entry],
    outfile: outFile,
    write: false,
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
      // The reference corpus rides in the one file too (a host makes its calibration from it), gzip'd and in
      // base64: ~1 MB of ASCII instead of 3 MB of text held in memory for the life of the process.
      __EP_REFERENCE_CORPUS_GZIP__: JSON.stringify(
        gzipSync(readFileSync(REFERENCE_CORPUS_PATH), { level: 9 }).toString('base64'),
      ),
    },
    // The docs page and the playground: compiled now and carried inside the bundle.
    plugins: [embedWebAssets()],
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const text = bundle.outputFiles[0]?.text;
  if (!text) throw new Error('the controller did not build');
  const data = Buffer.from(asciiOnly(text), 'latin1');
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, data);
  return { outFile, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

/**
 * The bundle with every non-ASCII character written as a `\u` escape. V8 keeps a script's source in memory for
 * the life of the process, and keeps it one byte per character only when every character fits in one byte: the
 * few curly quotes and dashes in dependencies' comments made the 6.8 MiB source take 13.6 MiB of heap. esbuild
 * already escapes strings, regular expressions and identifiers (its default ASCII charset) but copies comments
 * as written, where an escape reads as well as the character. The two Unicode line separators end a `//`
 * comment, so they become newlines, which do the same.
 */
export function asciiOnly(source: string): string {
  return source.replace(/[\u0080-\uffff]/g, (c) =>
    c === '\u2028' || c === '\u2029' ? '\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, out: { type: 'string' } } });
  const result = await buildControllerBundle({ entry: values.entry, outFile: values.out });
  console.log(
    `${result.outFile} ${(result.bytes / 1024 / 1024).toFixed(1)} MiB sha256 ${result.sha256}`,
  );
}
