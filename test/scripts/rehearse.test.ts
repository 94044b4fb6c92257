/**
 * `npm run rehearse` end to end: the real stack applied with real Terraform to the emulator, a host booted from
 * its user data, a keyed request scored, the key revoked, destroy without a trace, then the same again.
 */
import { describe, expect, it } from 'vitest';
import { runRehearsal } from './rehearse/run.ts';
import { runRehearsalSuites } from './rehearse/tools.ts';

describe.runIf(runRehearsalSuites())('npm run rehearse', () => {
  it(
    'applies, boots, serves, revokes, destroys without a trace, and does it again',
    async () => {
      const run = await runRehearsal([], 20 * 60_000);
      expect(run.last, run.output.slice(-4000)).toMatch(/^rehearsal: ok \(default stack/);
      expect(run.code).toBe(0);
      for (const phase of [
        'tools',
        'synth',
        'emulator',
        'init',
        'plan',
        'apply',
        'state',
        'hf-token',
        'boot',
        'first-key',
        'ready',
        'score',
        'calibration',
        'revoke',
        'destroy',
        'verify-empty',
        'apply-again',
        'destroy-again',
        'verify-empty-again',
      ]) {
        expect(run.phases[phase], phase).toBe('ok');
      }
      // It says what differs from a real deploy.
      expect(run.output).toMatch(
        /override provider-version: the stack pins hashicorp\/aws [\d.]+; the local mirror has [\d.]+/,
      );
      expect(run.output).toMatch(/stands in for CloudFront VPC origins/);
    },
    21 * 60_000,
  );
});
