import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

describe('package.json', () => {
  it('declares every dependency that has an install script, so a fresh `npm ci` prints no warning about them', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, meta]) => path !== '' && meta.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    const undeclared = [...new Set(withScripts)].filter(
      (name) => !(name in (pkg.allowScripts ?? {})),
    );
    expect(undeclared).toEqual([]);
  });

  it('states the supported Node range, and the README says the same', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('Node.js ≥ 20.19');
    expect(readme).toMatch(/drops\s+Node 20 in 2027/);
  });

  it('keeps local key files out of git', () => {
    const ignored = readFileSync('.gitignore', 'utf8').split('\n');
    expect(ignored).toContain('keys.json');
  });
});
