/**
 * @module
 * Scoring calls for the backend-side scenarios (poison, frozen replica, overload): a POST to `/v1/perplexity`
 * that reports status, time and what the answer said, never throwing, and loops that keep one up until a stop time.
 */

export interface ScoreOutcome {
  readonly status: number;
  readonly ms: number;
  readonly degraded: boolean;
  /** `error.type` of the first text that has one. */
  readonly textError: string | undefined;
  readonly retryAfter: string | null;
}

export async function scoreOnce(
  url: string,
  key: string,
  body: Record<string, unknown>,
): Promise<ScoreOutcome> {
  const started = performance.now();
  try {
    const res = await fetch(`${url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => undefined)) as
      { degraded?: boolean; results?: { error?: { type: string } }[] } | undefined;
    return {
      status: res.status,
      ms: performance.now() - started,
      degraded: json?.degraded === true,
      textError: json?.results?.find((r) => r.error)?.error?.type,
      retryAfter: res.headers.get('retry-after'),
    };
  } catch {
    return {
      status: 0,
      ms: performance.now() - started,
      degraded: false,
      textError: undefined,
      retryAfter: null,
    };
  }
}

/** Calls `once` back to back until `until` (performance.now() ms), pausing `gapMs` between calls. */
export async function loopUntil<T>(
  until: number,
  once: (i: number) => Promise<T>,
  gapMs = 0,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; performance.now() < until; i++) {
    out.push(await once(i));
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  return out;
}

/** Fraction (0-100) of `/readyz` samples answered 200, sampled every `ms` until `until`. */
export async function readySeconds(url: string, until: number, ms = 250): Promise<number> {
  let ok = 0;
  let all = 0;
  while (performance.now() < until) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    await res?.arrayBuffer().catch(() => undefined);
    all++;
    if (res?.status === 200) ok++;
    await new Promise((r) => setTimeout(r, ms));
  }
  return all === 0 ? 0 : (100 * ok) / all;
}
