/**
 * The emulated GPU keeps time: its steps follow the planned schedule on absolute deadlines, so a timer that
 * fires late (a busy event loop) delays that moment only, never the steps after it.
 */
import { describe, expect, it } from 'vitest';
import { GpuEmulator, planCall } from '../../../images/local-lm/server/gpu-emulator.ts';
import type { EngineClock } from '../../../images/local-lm/server/gpu-emulator.ts';
import type { TimingProfile } from '../../../images/local-lm/index.ts';

/** A clock the test moves by hand: `fire(late)` runs the next timer `late` ms after it was due. */
function manualClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: EngineClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  return {
    clock,
    get now() {
      return now;
    },
    pending: () => timers.size,
    /** Runs the earliest timer, `late` ms after its due time; returns when it was due. */
    fire(late = 0): number {
      const [id, t] = [...timers].sort((a, b) => a[1].at - b[1].at)[0]!;
      timers.delete(id);
      now = Math.max(now, t.at + late);
      t.fn();
      return t.at;
    },
  };
}

const profile: TimingProfile = {
  name: 'test',
  callMs: 0,
  stepMs: 5,
  tokenMs: 0.1,
  floorMs: 0,
  maxSeqs: 2,
  maxTokens: 1000,
  chunkedPrefill: true,
};

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('emulated GPU clock', () => {
  it.each([
    [12, 'catches up with the plan'],
    [40, 'answers as soon as the stall is over'],
  ])(
    'runs the planned steps on absolute deadlines when a timer fires %i ms late (%s)',
    async (late) => {
      const m = manualClock();
      const engine = new GpuEmulator(profile, m.clock);
      const lengths = [50, 50, 50, 50, 50];
      const plan = planCall(lengths, profile);
      let end = 0;
      const planned = plan.steps.map((s) => (end += s.ms));
      expect(planned).toEqual([15, 30, 40]);
      let doneAt = -1;
      void engine.run(lengths).then(() => (doneAt = m.now));
      await settle();
      // The first timer fires late (a stalled loop); the others on time.
      const due = [m.fire(late)];
      while (m.pending() > 0) due.push(m.fire(0));
      await settle();
      // Every later step is due when the plan says, or at once when the stall has passed that already.
      expect(due).toEqual(planned.map((t, i) => (i === 0 ? t : Math.max(t, planned[0]! + late))));
      expect(doneAt).toBe(Math.max(plan.ms, planned[0]! + late));
    },
  );

  it('counts a call from its arrival, so the time the stand-in spends tokenizing overlaps the GPU time', async () => {
    const m = manualClock();
    const engine = new GpuEmulator({ ...profile, callMs: 4 }, m.clock);
    const arrivedAt = engine.now();
    // The stand-in's tokenizer takes 12 ms before it knows the lengths (a timer the test fires by hand).
    let tokenized = false;
    m.clock.setTimeout(() => (tokenized = true), 12);
    m.fire(0);
    expect(tokenized).toBe(true);
    let doneAt = -1;
    void engine.run([50, 50], undefined, arrivedAt).then(() => (doneAt = m.now));
    await settle();
    // One step of 100 tokens: 5 + 10 ms, from the call's arrival plus its 4 ms: due at 19, not 12 + 4 + 15.
    expect(m.fire(0)).toBe(19);
    await settle();
    expect(doneAt).toBe(19);
    // Tokenizing longer than the whole call: the answer is due at once.
    const late = engine.now();
    m.clock.setTimeout(() => {}, 40);
    m.fire(0);
    void engine.run([50], undefined, late).then(() => (doneAt = m.now));
    await settle();
    expect(m.fire(0)).toBe(59);
    await settle();
    expect(doneAt).toBe(59);
  });

  it('starts from now after being idle', async () => {
    const m = manualClock();
    const engine = new GpuEmulator(profile, m.clock);
    void engine.run([50]);
    await settle();
    expect(m.fire(0)).toBe(10);
    void engine.run([50]);
    await settle();
    expect(m.fire(0)).toBe(20);
  });
});
