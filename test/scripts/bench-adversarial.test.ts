import { describe, expect, it } from 'vitest';
import { formatAdversarial, runAdversarialBench } from '../../scripts/bench-adversarial.ts';
import { ADVERSARIAL_SCENARIOS } from '../../scripts/lib/adversarial/index.ts';

describe('adversarial bench', () => {
  it('lists scenarios with unique ids, and names the known ones when asked for an unknown one', async () => {
    const ids = ADVERSARIAL_SCENARIOS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        'keyless-uploads',
        'slow-body',
        'idle-sockets',
        'stream-stall',
        'key-writers',
      ]),
    );
    await expect(runAdversarialBench({ scenarios: ['nope'], verbose: false })).rejects.toThrow(
      /unknown scenario nope; known: keyless-uploads/,
    );
  });

  it('formats figures and failures as Markdown', () => {
    const text = formatAdversarial([
      { id: 'a', title: 'A', seconds: 1, figures: [{ name: 'x', value: 2, unit: 's' }] },
      { id: 'b', title: 'B', seconds: 1, figures: [], error: 'boom' },
    ]);
    expect(text).toContain('| x | 2 s |');
    expect(text).toContain('FAILED: boom');
  });
});
