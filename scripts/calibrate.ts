/**
 * @module
 * `npm run calibrate -- --url URL [--key KEY] --out FILE`: scores the shipped reference corpus through an
 * endpoint's own models and writes a calibration file for exactly that model set. Point the controller at it
 * with `calibration.path` (it picks up a new file within `calibration.reloadMs`). The key may also come from
 * $EP_API_KEY.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrate } from './lib/calibrate-run.ts';
import { isMainModule } from './lib/main-module.ts';

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      'max-texts': { type: 'string' },
    },
  });
  if (!values.url || !values.out) {
    throw new Error('usage: npm run calibrate -- --url URL [--key KEY] --out FILE');
  }
  const apiKey = values.key ?? process.env.EP_API_KEY;
  const started = performance.now();
  let last = 0;
  const { file } = await calibrate(
    { url: values.url, ...(apiKey ? { apiKey } : {}) },
    {
      ...(values['max-texts'] ? { maxTexts: Number(values['max-texts']) } : {}),
      onProgress: (done, total) => {
        if (done === total || performance.now() - last > 2_000) {
          last = performance.now();
          process.stderr.write(`scored ${done}/${total} reference texts\n`);
        }
      },
    },
  );
  const out = resolve(values.out);
  await mkdir(dirname(out), { recursive: true });
  // Written beside and renamed, so a controller watching the path never reads half a file.
  await writeFile(`${out}.partial`, JSON.stringify(file));
  await rename(`${out}.partial`, out);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(
    `calibration of ${file.models.map((m) => m.name).join(', ')} on ${file.corpus.texts} reference texts → ${out} (${seconds} s)`,
  );
}

if (isMainModule(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
