import { describe, expect, it } from 'vitest';
import { Backend } from '../../../controller/backends/backend.ts';
import type { VllmClient } from '../../../controller/backends/vllm-client.ts';
import { JobQueue } from '../../../controller/scheduler/job-queue.ts';
import type { PromptJob } from '../../../controller/scheduler/job-queue.ts';

const backend = new Backend({} as VllmClient, 'm#0');

function job(tenant: string, n: number, estTokens = 10): PromptJob {
  return {
    prompt: `${tenant}-${n}`,
    scoreFrom: 1,
    estTokens,
    withDetail: false,
    tenant,
    attempts: 0,
    solo: false,
    avoid: undefined,
    settled: false,
    queued: true,
    enqueuedAt: 0,
    batch: undefined,
    resolve: () => {},
    reject: () => {},
  };
}

const names = (jobs: PromptJob[]) => jobs.map((j) => j.prompt as string);

describe('JobQueue fairness between tenants', () => {
  it("puts a late tenant's single job into the next batch, ahead of another tenant's backlog", () => {
    const queue = new JobQueue(100);
    for (let i = 0; i < 5_000; i++) queue.push(job('big', i));
    expect(queue.takeBatch(8, 16_384, backend)).toHaveLength(8);
    queue.push(job('small', 0));
    const next = names(queue.takeBatch(32, 16_384, backend));
    expect(next).toContain('small-0');
    expect(next).toHaveLength(32);
    expect(queue.size).toBe(5_000 - 8 - 31);
  });

  it('shares batches by tokens (deficit round-robin), not by jobs', () => {
    const queue = new JobQueue(100);
    for (let i = 0; i < 50; i++) queue.push(job('long', i, 50));
    for (let i = 0; i < 50; i++) queue.push(job('short', i, 10));
    const batch = queue.takeBatch(1_000, 600, backend);
    const tokens = (t: string) =>
      batch.filter((j) => j.tenant === t).reduce((sum, j) => sum + j.estTokens, 0);
    expect(Math.abs(tokens('long') - tokens('short'))).toBeLessThanOrEqual(100);
  });

  it('keeps each tenant in FIFO order and loses no job', () => {
    const queue = new JobQueue(30);
    for (let i = 0; i < 40; i++) queue.push(job(`t${i % 3}`, i));
    const seen: string[] = [];
    while (queue.size > 0) seen.push(...names(queue.takeBatch(7, 1_000, backend)));
    expect(seen).toHaveLength(40);
    for (const t of ['t0', 't1', 't2']) {
      const order = seen.filter((s) => s.startsWith(`${t}-`)).map((s) => Number(s.split('-')[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('skips settled jobs, and sends a solo job alone', () => {
    const queue = new JobQueue();
    const a = job('a', 0);
    const b = job('a', 1);
    b.solo = true;
    a.settled = true;
    queue.push(a);
    queue.push(b);
    queue.push(job('a', 2));
    expect(names(queue.takeBatch(10, 1_000, backend))).toEqual(['a-1']);
    expect(names(queue.takeBatch(10, 1_000, backend))).toEqual(['a-2']);
    expect(queue.size).toBe(0);
    expect(queue.peek()).toBeUndefined();
  });
});
