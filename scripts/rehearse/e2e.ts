/**
 * @module
 * The operator's path from the README, against the booted host: the stack's own commands (its outputs) run in a
 * shell, requests go to the controller the way the load balancer sends them (its listener rules and target group,
 * read from the emulator), and a revoked key stops working within the controller's reload period.
 */
import { exec } from 'node:child_process';
import { request } from 'undici';
import { awsCli } from './aws-env.ts';

/** Runs one of the stack's printed commands in a shell, as an operator would paste it. */
export function runOutputCommand(
  command: string,
  o: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    exec(command, { cwd: o.cwd, env: o.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `${command.split(' ').slice(0, 4).join(' ')}… failed: ${(stderr || stdout).trim().slice(-600)}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

/** How the load balancer reaches the controller: the target's port and health path, and the headers its rules require. */
export interface LoadBalancerPath {
  readonly port: number;
  readonly healthPath: string;
  readonly requiredHeaders: Record<string, string>;
}

/** Reads the forward rule and target group from the emulator. */
export async function loadBalancerPath(
  env: NodeJS.ProcessEnv,
  lbArn: string,
): Promise<LoadBalancerPath> {
  const listeners = (await awsCli(env, [
    'elbv2',
    'describe-listeners',
    '--load-balancer-arn',
    lbArn,
  ])) as {
    Listeners: Array<{
      ListenerArn: string;
      DefaultActions: Array<{ Type: string; TargetGroupArn?: string }>;
    }>;
  };
  let targetGroupArn: string | undefined;
  const requiredHeaders: Record<string, string> = {};
  for (const l of listeners.Listeners) {
    const rules = (await awsCli(env, [
      'elbv2',
      'describe-rules',
      '--listener-arn',
      l.ListenerArn,
    ])) as {
      Rules: Array<{
        Conditions: Array<{
          Field: string;
          HttpHeaderConfig?: { HttpHeaderName: string; Values: string[] };
        }>;
        Actions: Array<{
          Type: string;
          TargetGroupArn?: string;
          ForwardConfig?: { TargetGroups: Array<{ TargetGroupArn: string }> };
        }>;
      }>;
    };
    for (const r of rules.Rules) {
      const forward = r.Actions.find((a) => a.Type === 'forward');
      if (!forward) continue;
      targetGroupArn ??=
        forward.TargetGroupArn ?? forward.ForwardConfig?.TargetGroups[0]?.TargetGroupArn;
      for (const c of r.Conditions) {
        if (c.Field === 'http-header' && c.HttpHeaderConfig) {
          requiredHeaders[c.HttpHeaderConfig.HttpHeaderName] = c.HttpHeaderConfig.Values[0]!;
        }
      }
    }
  }
  if (!targetGroupArn)
    throw new Error('no listener rule of the load balancer forwards to a target group');
  const tgs = (await awsCli(env, [
    'elbv2',
    'describe-target-groups',
    '--target-group-arns',
    targetGroupArn,
  ])) as {
    TargetGroups: Array<{ Port: number; HealthCheckPath?: string }>;
  };
  const tg = tgs.TargetGroups[0]!;
  return { port: tg.Port, healthPath: tg.HealthCheckPath ?? '/', requiredHeaders };
}

/** Polls `url` until it answers 200. @throws Error with the last answer when `timeoutMs` passes */
export function waitFor200(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<void> {
  return poll(url, timeoutMs, headers, 'answer 200', (status, text) =>
    status === 200 ? { value: undefined } : `${status} ${text.slice(0, 300)}`,
  );
}

/**
 * GETs `url` every 500 ms until `check` accepts the answer (returns a value), or throws after `timeoutMs` with
 * `what` and the last answer (`check` returns a string to describe an answer it does not accept).
 */
async function poll<T>(
  url: string,
  timeoutMs: number,
  headers: Record<string, string>,
  what: string,
  check: (status: number, text: string) => { value: T } | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await request(url, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
      const verdict = check(res.statusCode, await res.body.text());
      if (typeof verdict !== 'string') return verdict.value;
      last = verdict;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`${url} did not ${what} within ${timeoutMs / 1000} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A JSON object body, or an empty object for anything else. */
function jsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Polls `/readyz` until it is 200 and names `count` models, all ready (the load balancer needs only a quorum).
 * @returns the number of ready models
 */
export function waitForAllModels(
  url: string,
  count: number,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<number> {
  return poll(url, timeoutMs, headers, 'report every model ready', (status, text) => {
    const body = jsonObject(text);
    const models = Object.entries((body.models ?? {}) as Record<string, boolean>);
    const ready = models.filter(([, ok]) => ok).length;
    if (status === 200 && models.length === count && ready === count) return { value: ready };
    const notReady = models
      .filter(([, ok]) => !ok)
      .map(([n]) => n)
      .join(', ');
    return `${status}, ready: ${ready} of ${count}${models.length ? ` (not ready: ${notReady || 'none'})` : ''}`;
  });
}

/**
 * Polls `GET /v1/calibration` until the controller is making its own calibration (it checks every few seconds
 * once every model is ready).
 * @returns the progress it shows
 */
export function waitForCalibrationMaking(
  url: string,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<{ texts_done?: number; texts_total?: number }> {
  return poll(
    url,
    timeoutMs,
    headers,
    'show the controller making its calibration',
    (status, text) => {
      const body = jsonObject(text);
      const progress = body.self_calibration as
        { texts_done?: number; texts_total?: number } | undefined;
      if (status === 200 && body.state === 'making' && progress) return { value: progress };
      return `${status} ${String(body.state ?? '')}: ${String(body.message ?? '')}`;
    },
  );
}

/** The headers a request has after CloudFront and the load balancer: the rule's headers and forwarded-for. */
export function throughLoadBalancer(
  path: LoadBalancerPath,
  apiKey?: string,
): Record<string, string> {
  return {
    ...path.requiredHeaders,
    'x-forwarded-for': '198.51.100.7, 130.176.0.10',
    'x-forwarded-proto': 'https',
    'content-type': 'application/json',
    ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  };
}

export interface ScoreResult {
  readonly status: number;
  readonly body: unknown;
}

export async function score(
  base: string,
  headers: Record<string, string>,
  text: string,
): Promise<ScoreResult> {
  const res = await request(`${base}/v1/perplexity`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ texts: [text] }),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const raw = await res.body.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.statusCode, body };
}
