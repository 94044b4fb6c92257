/**
 * Per-test host simulations: `sim()` makes one that is disposed after the test, `bootOk()` boots it and plays the
 * units the boot script started.
 */
import { afterEach, expect } from 'vitest';
import type { HostSettings } from '../../../infra/host/types.ts';
import { hostSettings } from './fixtures.ts';
import { HostSim, type SimOptions } from './host-sim.ts';

const sims: HostSim[] = [];
afterEach(() => {
  for (const s of sims.splice(0)) s.dispose();
});

export function sim(settings: HostSettings = hostSettings(), opts: SimOptions = {}): HostSim {
  const s = new HostSim(settings, opts);
  sims.push(s);
  return s;
}

/** Boots, expecting success, then lets "systemd" start what the script started. */
export function bootOk(host: HostSim): void {
  const r = host.boot();
  expect(r.status, `ep-boot.sh failed:\n${r.stderr}`).toBe(0);
  host.playStartedUnits();
}
