import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatSeconds } from '../../scripts/lib/score-progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, chunks };
}

describe('score progress', () => {
  it('redraws one line on a terminal with a bar, rate and ETA', () => {
    let now = 0;
    const { stream, chunks } = sink(true);
    const p = new Progress({ total: 1000, stream, now: () => now });
    now = 1000;
    p.update(250);
    now = 1050; // within the redraw interval: not drawn
    p.update(260);
    now = 2000;
    p.update(500);
    p.finish();
    expect(chunks).toHaveLength(3);
    expect(chunks[0]?.startsWith('\r\u001b[2K[')).toBe(true);
    expect(chunks[0]).toContain('  25.0%  250/1000 lines  250 lines/s  ETA 3.0s');
    expect(chunks[2]?.endsWith('\n')).toBe(true);
  });

  it('writes plain periodic lines when stderr is not a terminal, counting resumed lines apart from the rate', () => {
    let now = 0;
    const { stream, chunks } = sink(false);
    const p = new Progress({
      total: 100,
      initial: 40,
      stream,
      now: () => now,
      plainEverySeconds: 5,
    });
    now = 1000;
    p.update(50);
    now = 3000;
    p.update(60); // within 5 s of the last line
    now = 7000;
    p.update(80);
    expect(chunks).toEqual([
      'score: 50.0%  50/100 lines  10 lines/s  ETA 5.0s\n',
      'score: 80.0%  80/100 lines  6 lines/s  ETA 3.5s\n',
    ]);
  });

  it('formats durations for humans', () => {
    expect(formatSeconds(4.25)).toBe('4.3s');
    expect(formatSeconds(75)).toBe('1m15s');
    expect(formatSeconds(7300)).toBe('2h01m');
    expect(formatSeconds(Infinity)).toBe('--');
  });
});
