/**
 * @module
 * `npm run deploy` / `npm run destroy`: runs `cdktf deploy|destroy` with the given arguments after checking that the
 * tool it drives is there. Without Terraform the cdktf CLI fails with `execvp(3) failed` and `terraform init
 * failed`; this names the missing tool and how to install it instead.
 *
 * Usage: tsx scripts/cdktf-run.ts deploy|destroy [cdktf arguments...]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/context.ts';
import { isMainModule } from './lib/main-module.ts';
import { installedTerraform } from './preflight.ts';

/** Why the command cannot run, or null when it can. */
export async function missingTool(
  env: NodeJS.ProcessEnv = process.env,
  terraformVersion: () => Promise<string | null> = () => installedTerraform(env),
): Promise<string | null> {
  if ((await terraformVersion()) !== null) return null;
  const binary = env.TERRAFORM_BINARY_NAME || 'terraform';
  return (
    `Terraform is not installed: \`${binary}\` is not on PATH or does not run, and cdktf deploy/destroy drive it. ` +
    'Install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install), or OpenTofu and ' +
    'export TERRAFORM_BINARY_NAME=tofu. `npm run preflight` checks everything else the deploy needs.'
  );
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'deploy' && command !== 'destroy') {
    console.error('usage: tsx scripts/cdktf-run.ts deploy|destroy [cdktf arguments...]');
    return 2;
  }
  const problem = await missingTool();
  if (problem) {
    console.error(problem);
    return 1;
  }
  const cdktf = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
  if (!existsSync(cdktf)) {
    console.error('the cdktf CLI is not installed: run `npm ci` first');
    return 1;
  }
  return new Promise((resolveCode) => {
    const child = spawn(cdktf, [command, ...rest], { stdio: 'inherit', cwd: REPO_ROOT });
    child.on('error', (err) => {
      console.error(`cannot run ${cdktf}: ${err.message}`);
      resolveCode(1);
    });
    child.on('close', (code) => resolveCode(code ?? 1));
  });
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
