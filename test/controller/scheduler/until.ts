/**
 * Polling helpers for scheduler and fault tests: wait for a condition (bounded) instead of sleeping a fixed time.
 */

/** Resolves once `cond()` holds; fails after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Backend states by id, from the controller's `GET /v1/models`. */
export async function backendStates(controllerUrl: string): Promise<Record<string, string>> {
  const body = (await fetch(`${controllerUrl}/v1/models`).then((r) => r.json())) as {
    data: { backends: { id: string; state: string }[] }[];
  };
  const out: Record<string, string> = {};
  for (const m of body.data) for (const b of m.backends) out[b.id] = b.state;
  return out;
}

/** Prompts the fake backend received in scoring batches, golden probes (token-id lists) left out. */
export function textPrompts(completions: { body: Record<string, unknown> }[]): string[] {
  const out: string[] = [];
  for (const c of completions) {
    for (const p of c.body.prompt as unknown[]) if (typeof p === 'string') out.push(p);
  }
  return out;
}
