import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings, SettingsSchema } from '../../infra/config.ts';
import { REPO_ROOT } from '../../infra/context.ts';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('infra conventions', () => {
  it('imports provider resources by deep path, never the 2,000-module barrel', () => {
    const files = [
      ...tsFiles(join(REPO_ROOT, 'infra')),
      ...tsFiles(join(REPO_ROOT, 'test/infra')),
      join(REPO_ROOT, 'scripts/preflight.ts'),
    ];
    const barrel = /from\s+['"]@cdktf\/provider-aws(\/lib)?(\/index(\.js)?)?['"]/;
    const offenders = files
      .filter((f) => barrel.test(readFileSync(f, 'utf8')))
      .map((f) => relative(REPO_ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('every optional construct or stack prop documents its @default', () => {
    const files = [
      ...tsFiles(join(REPO_ROOT, 'infra/constructs')),
      join(REPO_ROOT, 'infra/stack.ts'),
    ];
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const body of text.match(/export interface \w+Props \{[\s\S]*?\n\}/g) ?? []) {
        const props = body.split(/\n(?=\s*\/\*\*|\s*readonly )/);
        for (let i = 0; i < props.length; i++) {
          const m = /^\s*readonly (\w+)\?:/.exec(props[i]!);
          if (m && !/@default/.test(props[i - 1] ?? ''))
            missing.push(`${relative(REPO_ROOT, file)}: ${m[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('the README settings table lists every setting with its default', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const defaults = parseSettings({}) as Record<string, unknown>;
    for (const key of Object.keys(SettingsSchema.shape)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      expect(row, `README row for ${key}`).toBeDefined();
      const value = defaults[key];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        expect(row, key).toContain(`\`${String(value)}\``);
      }
    }
  });

  it('the README tells the truth about the deployment', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    // Terraform 1.11 cannot parse the HCL `cdktf synth --hcl` writes for this stack: do not suggest it.
    expect(readme).not.toMatch(/synth --hcl/);
    // Both Llama-2 and Mistral-7B-v0.1 are gated on the Hub; only vicuna and phi-2 are public.
    expect(readme).not.toMatch(/other three models are public/);
    expect(readme).toMatch(
      /two gated models,\s+`meta-llama\/Llama-2-7b-hf` and `mistralai\/Mistral-7B-v0\.1`/,
    );
    // No public ALB, no origin secret any more; /metrics is not an open route once deployed.
    expect(readme).not.toMatch(/X-Origin-Verify|origin-facing/);
    expect(readme).toMatch(
      /`GET \/metrics` \(Prometheus\) needs a key when `auth\.metricsRequireKey` is set,\s+as it is on every AWS deployment/,
    );
    expect(readme).toMatch(
      /Your account must be verified before you\s+can add new CloudFront resources/,
    );
  });
});
