import { describe, expect, it } from 'vitest';
import { Backend } from '../../../controller/backends/backend.ts';
import { BackendPool } from '../../../controller/backends/backend-pool.ts';
import type { VllmClient } from '../../../controller/backends/vllm-client.ts';
import { NOOP_OBSERVER } from '../../../controller/observability/observer.ts';

/** Pool logic needs no client: these backends are never called. */
const backend = (id: string) => new Backend({} as VllmClient, id);
const fail = new Error('boom');

function pool(n = 2) {
  const states: string[] = [];
  const backends = Array.from({ length: n }, (_, i) => backend(`m#${i}`));
  const p = new BackendPool(backends, {
    model: 'm',
    maxInflightPerBackend: 2,
    failuresToEject: 3,
    successesToReadmit: 2,
    observer: { ...NOOP_OBSERVER, backendState: (_m, b, s) => void states.push(`${b}:${s}`) },
  });
  for (const b of backends) p.recordSuccess(b); // starting → healthy on the first success
  return { p, backends, states };
}

describe('backend pool health hysteresis', () => {
  it('does not eject a backend whose failures alternate with successes (flapping)', () => {
    const { p, backends } = pool();
    const b = backends[0]!;
    for (let i = 0; i < 10; i++) {
      p.recordFailure(b, fail);
      p.recordFailure(b, fail);
      p.recordSuccess(b);
    }
    expect(b.state).toBe('healthy');
  });

  it('ejects after consecutive failures and readmits after consecutive successes', () => {
    const { p, backends, states } = pool();
    const b = backends[0]!;
    for (let i = 0; i < 3; i++) p.recordFailure(b, fail);
    expect(b.state).toBe('unhealthy');
    p.recordSuccess(b);
    p.recordFailure(b, fail); // the streak starts over
    p.recordSuccess(b);
    expect(b.state).toBe('unhealthy');
    p.recordSuccess(b);
    expect(b.state).toBe('healthy');
    expect(states).toEqual([
      'm#0:starting',
      'm#1:starting',
      'm#0:healthy',
      'm#1:healthy',
      'm#0:unhealthy',
      'm#0:healthy',
    ]);
  });

  it('ejects at once on a golden mismatch', () => {
    const { p, backends } = pool();
    p.eject(backends[1]!, 'other weights');
    expect(backends[1]!.state).toBe('unhealthy');
    expect(backends[1]!.lastError).toBe('other weights');
  });

  it('picks the healthy backend with the least outstanding tokens under the in-flight cap', () => {
    const { p, backends } = pool(3);
    const [a, b, c] = backends as [Backend, Backend, Backend];
    p.acquire(a, 100);
    p.acquire(b, 10);
    expect(p.pick()).toBe(c);
    p.acquire(c, 50);
    expect(p.pick()).toBe(b);
    expect(p.pick(b)).toBe(c); // a retry avoids the backend that just failed it
    p.acquire(b, 10); // b is at its cap of 2
    expect(p.pick()).toBe(c);
    for (let i = 0; i < 3; i++) p.recordFailure(c, fail);
    expect(p.pick()).toBe(a);
    p.release(b, 10);
    expect(p.pick()).toBe(b);
  });
});
