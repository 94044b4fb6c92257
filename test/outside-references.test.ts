/**
 * A reader of this repository has only this repository: no file may send them to notes that live outside it
 * (the project's private design and reference documents). Facts are stated where they are used, with their
 * public source.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

// Built from parts so this file does not match itself.
const OUTSIDE = new RegExp(
  [
    ['shared', 'reference'].join('/'),
    ['\\.\\.', 'shared', ''].join('/'),
    ...['vllm-api', 'l4-cost-model', 'aws-cdktf', 'style-anchors', 'DESIGN'].map(
      (d) => `${d}\\.md`,
    ),
  ].join('|'),
);

describe('references to documents outside the repository', () => {
  it('appear in no tracked file', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && !f.endsWith('package-lock.json'));
    const hits: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue; // deleted in the work tree
      }
      text.split('\n').forEach((line, i) => {
        if (OUTSIDE.test(line)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });
});
