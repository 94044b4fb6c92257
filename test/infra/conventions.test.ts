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
});
