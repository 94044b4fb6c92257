/**
 * The client is its own package: its sources import only each other, Node's built-ins and undici, never the
 * server, so installing it never pulls the server in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../../clients/typescript/src');
const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm;

describe('@ensembled-perplexity/client sources', () => {
  it('import nothing but each other, node: built-ins and undici', () => {
    const outside: string[] = [];
    for (const name of readdirSync(SRC)) {
      const text = readFileSync(join(SRC, name), 'utf8');
      for (const [, specifier] of text.matchAll(IMPORT)) {
        const allowed =
          /^\.\/[\w-]+\.js$/.test(specifier as string) ||
          specifier === 'undici' ||
          (specifier as string).startsWith('node:');
        if (!allowed) outside.push(`${name}: ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['undici']);
  });
});
