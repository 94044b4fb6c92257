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
export async function waitFor200(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await request(url, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = await res.body.text();
      if (res.statusCode === 200) return;
      last = `${res.statusCode} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Polls `/readyz` until it is 200 and names `count` models, all ready (the load balancer needs only a quorum).
 * @returns the number of ready models
 */
export async function waitForAllModels(
  url: string,
  count: number,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await request(url, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = (await res.body.json().catch(() => ({}))) as {
        models?: Record<string, boolean>;
      };
      const models = Object.entries(body.models ?? {});
      const ready = models.filter(([, ok]) => ok).length;
      if (res.statusCode === 200 && models.length === count && ready === count) return ready;
      last = `${res.statusCode}, ready: ${ready} of ${count}${
        models.length
          ? ` (not ready: ${
              models
                .filter(([, ok]) => !ok)
                .map(([n]) => n)
                .join(', ') || 'none'
            })`
          : ''
      }`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not report every model ready within ${timeoutMs / 1000} s (last: ${last})`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Polls `GET /v1/calibration` until the controller is making its own calibration (it checks every few seconds
 * once every model is ready).
 * @returns the progress it shows
 */
export async function waitForCalibrationMaking(
  url: string,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<{ texts_done?: number; texts_total?: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await request(url, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = (await res.body.json().catch(() => ({}))) as {
        state?: string;
        message?: string;
        self_calibration?: { texts_done?: number; texts_total?: number };
      };
      if (res.statusCode === 200 && body.state === 'making' && body.self_calibration)
        return body.self_calibration;
      last = `${res.statusCode} ${body.state ?? ''}: ${body.message ?? ''}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not show the controller making its calibration within ${timeoutMs / 1000} s (last: ${last})`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
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
