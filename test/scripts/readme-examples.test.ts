import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  README_EXAMPLES,
  README_PATH,
  readBlocks,
  renderReadmeExamples,
  replaceBlocks,
  responseBlock,
} from '../../scripts/readme-examples.ts';

describe('README examples', () => {
  it('are what a fresh run of the local stack answers (npm run readme-examples rewrites them)', async () => {
    const fresh = await renderReadmeExamples();
    const readme = readBlocks(readFileSync(README_PATH, 'utf8'));
    expect(Object.fromEntries(readme)).toEqual(Object.fromEntries(fresh));
  }, 300_000);

  it('rewrites only the marked blocks, and refuses a README whose markers do not match', () => {
    const readme = [
      'intro',
      '<!-- example:a -->',
      'old a',
      '<!-- /example:a -->',
      'middle',
      '<!-- example:b -->',
      'old b',
      '<!-- /example:b -->',
      'end',
    ].join('\n');
    const blocks = new Map([
      ['a', 'new a'],
      ['b', 'new\nb'],
    ]);
    const updated = replaceBlocks(readme, blocks);
    expect(updated).toBe(readme.replace('old a', 'new a').replace('old b', 'new\nb'));
    expect(readBlocks(updated)).toEqual(blocks);
    expect(() => replaceBlocks(readme, new Map([['a', 'x']]))).toThrow(/unknown: b/);
    expect(() => replaceBlocks(readme, new Map([...blocks, ['c', 'x']]))).toThrow(/missing: c/);
  });

  it('rounds only non-integers, to 6 significant digits', () => {
    const legacy = README_EXAMPLES.find((e) => e.name === 'legacy')!;
    expect(responseBlock(legacy, { m: [431.33836732973293, 2], n: [] })).toBe(
      '```jsonc\n{"m": [431.338, 2], "n": []}\n```',
    );
  });
});
