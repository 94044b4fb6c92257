/**
 * @module
 * The outside tools a rehearsal runs, found at run time: Terraform, moto's server, the AWS CLI (v1, Python), openssl,
 * and the local filesystem mirror that holds the `hashicorp/aws` provider (there is no registry to download it from).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A tool the rehearsal needs is not installed (or the provider mirror cannot be found). */
export class ToolMissingError extends Error {
  override readonly name = 'ToolMissingError';
}

/** Commands that must be on PATH. */
export const REQUIRED_COMMANDS = ['terraform', 'moto_server', 'aws', 'python3', 'openssl'] as const;

/** Absolute path of `cmd` on PATH, or undefined. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The required commands that are missing from PATH. */
export function missingCommands(path = process.env.PATH ?? ''): string[] {
  return REQUIRED_COMMANDS.filter((c) => !which(c, path));
}

/** A provider found in a mirror directory. */
export interface ProviderMirror {
  /** Directory holding `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/`; pass to `init -plugin-dir`. */
  readonly dir: string;
  /** Newest provider version in it. */
  readonly version: string;
  /** How it was found, for the log. */
  readonly foundBy: string;
}

const AWS_PROVIDER = join('registry.terraform.io', 'hashicorp', 'aws');

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest aws provider version for this platform in `dir`, if any (unpacked layout). */
function providerVersionIn(dir: string): string | undefined {
  const root = join(dir, AWS_PROVIDER);
  if (!existsSync(root)) return undefined;
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const versions = readdirSync(root).filter(
    (v) => /^\d+\.\d+\.\d+$/.test(v) && existsSync(join(root, v, platform)),
  );
  return versions.sort(compareVersions).at(-1);
}

/** `path = "..."` of every filesystem_mirror in a Terraform CLI config file. */
function mirrorsInCliConfig(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
}

/**
 * Where to look, in order (README "Rehearse a deploy without AWS" lists the same):
 * 1. `EP_TF_PROVIDER_MIRROR`;
 * 2. `filesystem_mirror` paths in the Terraform CLI config (`TF_CLI_CONFIG_FILE`, else `~/.terraformrc`);
 * 3. Terraform's implied local mirror directories (`~/.terraform.d/plugins`, `$XDG_DATA_HOME/terraform/plugins`,
 *    each `$XDG_DATA_DIRS` entry + `/terraform/plugins`);
 * 4. `TF_PLUGIN_CACHE_DIR`;
 * 5. one level under `/opt` and `/usr/local/share` (where images unpack a mirror).
 */
export function providerMirrorCandidates(env: NodeJS.ProcessEnv = process.env): Array<{
  dir: string;
  foundBy: string;
}> {
  const out: Array<{ dir: string; foundBy: string }> = [];
  if (env.EP_TF_PROVIDER_MIRROR)
    out.push({ dir: env.EP_TF_PROVIDER_MIRROR, foundBy: 'EP_TF_PROVIDER_MIRROR' });
  const cli = env.TF_CLI_CONFIG_FILE ?? join(homedir(), '.terraformrc');
  for (const dir of mirrorsInCliConfig(cli))
    out.push({ dir, foundBy: `filesystem_mirror in ${cli}` });
  const dataHome = env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share');
  const dataDirs = (env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').filter(Boolean);
  for (const dir of [
    join(homedir(), '.terraform.d', 'plugins'),
    join(dataHome, 'terraform', 'plugins'),
    ...dataDirs.map((d) => join(d, 'terraform', 'plugins')),
  ]) {
    out.push({ dir, foundBy: "Terraform's implied local mirror directories" });
  }
  if (env.TF_PLUGIN_CACHE_DIR)
    out.push({ dir: env.TF_PLUGIN_CACHE_DIR, foundBy: 'TF_PLUGIN_CACHE_DIR' });
  for (const parent of ['/opt', '/usr/local/share']) {
    let children: string[] = [];
    try {
      children = readdirSync(parent);
    } catch {
      continue;
    }
    for (const c of children) out.push({ dir: join(parent, c), foundBy: `search of ${parent}/*` });
  }
  return out;
}

/** Finds the aws provider mirror. @throws ToolMissingError when no candidate holds the provider */
export function findProviderMirror(env: NodeJS.ProcessEnv = process.env): ProviderMirror {
  for (const c of providerMirrorCandidates(env)) {
    const version = providerVersionIn(c.dir);
    if (version) return { dir: c.dir, version, foundBy: c.foundBy };
  }
  throw new ToolMissingError(
    `no hashicorp/aws provider mirror found: set EP_TF_PROVIDER_MIRROR to a directory holding ${AWS_PROVIDER}/<version>/<os_arch>/`,
  );
}

/** `terraform version` (first line), for the log. */
export function terraformVersion(): string {
  const r = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0] ?? 'unknown';
}
