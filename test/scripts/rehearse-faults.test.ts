/**
 * A deliberately broken stack fails the rehearsal at the phase that shows the fault: a bundle whose SHA-256 the user
 * data does not match fails the host's boot, a host config naming a port no backend listens on fails readiness, and a
 * resource destroy leaves behind fails the emptiness check.
 */
import { describe, expect, it } from 'vitest';
import { FAULTS } from '../../scripts/rehearse.ts';
import { runRehearsal } from './rehearse/run.ts';
import { runRehearsalSuites } from './rehearse/tools.ts';

describe.runIf(runRehearsalSuites())('npm run rehearse with a broken stack', () => {
  it.each(Object.entries(FAULTS))(
    '--break %s fails at %s',
    async (fault, phase) => {
      const run = await runRehearsal(['--break', fault, '--once'], 14 * 60_000);
      expect(run.code, run.output.slice(-3000)).toBe(1);
      expect(run.last).toMatch(new RegExp(`^rehearsal: FAILED at ${phase}: `));
      expect(run.phases[phase]).toBe('FAILED');
      // Every phase before it passed.
      expect(Object.values(run.phases).filter((r) => r === 'FAILED')).toHaveLength(1);
      if (fault === 'bundle-sha') expect(run.last).toMatch(/does not match its sha256/);
      if (fault === 'leftover-secret') expect(run.last).toMatch(/secrets: .*"deleted":true/);
    },
    15 * 60_000,
  );
});
