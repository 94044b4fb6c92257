import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveControllerBundle } from '../../infra/bundle.ts';
import { SettingsError } from '../../infra/config.ts';
import { REPO_ROOT } from '../../infra/context.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const run = promisify(execFile);

describe('the cdktf app', () => {
  it('uses a prebuilt bundle when the settings name one, and fails clearly when it is missing', async () => {
    const dir = tempDir('ep-app-');
    writeFileSync(join(dir, 'prebuilt.mjs'), 'x');
    await expect(
      resolveControllerBundle({ controllerBundle: 'prebuilt.mjs' }, dir),
    ).resolves.toEqual({
      path: join(dir, 'prebuilt.mjs'),
    });
    await expect(resolveControllerBundle({ controllerBundle: 'nope.mjs' }, dir)).rejects.toThrow(
      /controllerBundle: .*nope\.mjs does not exist/,
    );
    await expect(resolveControllerBundle({}, dir)).rejects.toThrow(SettingsError);
  });

  it('otherwise builds the bundle with scripts/build-bundle.ts and keeps its sha256', async () => {
    const dir = tempDir('ep-app-');
    mkdirSync(join(dir, 'scripts'));
    writeFileSync(
      join(dir, 'scripts/build-bundle.ts'),
      `import { writeFileSync, mkdirSync } from 'node:fs';
       import { dirname } from 'node:path';
       export async function buildControllerBundle({ entry, outFile }) {
         mkdirSync(dirname(outFile), { recursive: true });
         writeFileSync(outFile, '// ' + entry);
         return { outFile, sha256: 'ab'.repeat(32), bytes: 1 };
       }`,
    );
    const bundle = await resolveControllerBundle({}, dir);
    expect(bundle).toEqual({ path: join(dir, 'dist/controller.mjs'), sha256: 'ab'.repeat(32) });
    expect(readFileSync(bundle.path, 'utf8')).toBe(`// ${join(dir, 'controller/main.ts')}`);
  });

  it('`tsx infra/main.ts` writes cdktf.out/stacks/<name> without the cdktf CLI', async () => {
    const dir = tempDir('ep-app-');
    writeFileSync(join(dir, 'controller.mjs'), 'x');
    const context = { name: 'smoke', controllerBundle: join(dir, 'controller.mjs') };
    await run(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'infra/main.ts')], {
      cwd: dir,
      env: {
        ...process.env,
        CDKTF_CONTEXT_JSON: JSON.stringify(context),
        CDKTF_OUTDIR: join(dir, 'out'),
      },
    });
    const stack = join(dir, 'out/stacks/smoke');
    expect(existsSync(join(dir, 'out/manifest.json'))).toBe(true);
    const tf = JSON.parse(readFileSync(join(stack, 'cdk.tf.json'), 'utf8')) as { resource: object };
    expect(Object.keys(tf.resource)).toContain('aws_autoscaling_group');
  });

  it('exits 1 with the settings problem and no stack trace', async () => {
    const error = await run(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [join(REPO_ROOT, 'infra/main.ts')],
      {
        env: { ...process.env, CDKTF_CONTEXT_JSON: JSON.stringify({ hostCount: 0 }) },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toMatch(
      /invalid deployment settings[\s\S]*hostCount/,
    );
    expect((error as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});
