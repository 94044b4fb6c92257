/**
 * Starts a controller on loopback for tests, with silent logs unless a destination is given.
 */
import type { DestinationStream } from 'pino';
import { parseConfig } from '../../controller/config.ts';
import type { ControllerConfigInput } from '../../controller/config.ts';
import { startController } from '../../controller/main.ts';
import type { RunningController, StartOptions } from '../../controller/main.ts';
import { createLogger } from '../../controller/observability/logger.ts';

export async function startTestController(
  input: Omit<ControllerConfigInput, 'host' | 'port'>,
  options: StartOptions & { logDestination?: DestinationStream } = {},
): Promise<RunningController> {
  const config = parseConfig({
    ...input,
    host: '127.0.0.1',
    port: 0,
    logLevel: options.logDestination ? 'info' : 'silent',
  });
  const logger = createLogger(config.logLevel, options.logDestination);
  return startController(config, { ...options, logger });
}

/** POSTs JSON and returns status, headers and the parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json: json as any, text };
}
