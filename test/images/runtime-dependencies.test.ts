/**
 * package.json `dependencies` is what the images install (`npm ci --omit=dev` in images/local-lm/Dockerfile):
 * exactly the packages the controller and local-lm load at run time, nothing for building, deploying or the
 * CLIs. Read from the sources, so a new import without a dependency, or a dependency nothing loads, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
}

/** `hono/body-limit` → `hono`, `@aws-sdk/client-x/sub` → `@aws-sdk/client-x`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Packages a runtime folder loads: static and dynamic imports, and data packages found by name. */
function runtimePackages(dirs: string[]): Set<string> {
  const found = new Set<string>();
  for (const text of dirs.flatMap(sources)) {
    const specifiers = [
      ...text.matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g),
      ...text.matchAll(/packageDir\('([^']+)'\)/g),
    ].map((m) => m[1]!);
    for (const s of specifiers) {
      const name = packageOf(s);
      if (s.startsWith('node:') || builtinModules.includes(name) || name === pkg.name) continue;
      found.add(name);
    }
  }
  return found;
}

describe('runtime dependencies', () => {
  it('are exactly what the controller and local-lm load (plus tsx, which runs local-lm)', () => {
    const used = runtimePackages(['controller', 'images/local-lm']);
    // The local-lm image starts `node --import tsx images/local-lm/main.ts`.
    expect(readFileSync(join(ROOT, 'images/local-lm/Dockerfile'), 'utf8')).toMatch(
      /--import", "tsx"/,
    );
    used.add('tsx');
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...used].sort());
  });

  it('keep deploy tools and the CLIs’ AWS clients out of the image', () => {
    for (const devOnly of [
      'cdktf',
      '@cdktf/provider-aws',
      'constructs',
      '@aws-sdk/client-ec2',
      '@aws-sdk/client-service-quotas',
      'esbuild',
    ]) {
      expect(pkg.dependencies).not.toHaveProperty(devOnly);
    }
  });
});
