/**
 * Controllers for tests, with silent logs unless a destination is given: on loopback (`startTestController`) where
 * the socket matters, or as an app answering `app.request()` (`startTestApp`) where it does not.
 */
import type { DestinationStream } from 'pino';
import { parseConfig } from '../../controller/config.ts';
import type { ControllerConfigInput } from '../../controller/config.ts';
import { assembleController, startController } from '../../controller/api/server.ts';
import type {
  AssembledController,
  RunningController,
  StartOptions,
} from '../../controller/api/server.ts';
import { createLogger } from '../../controller/observability/logger.ts';

type TestOptions = StartOptions & { logDestination?: DestinationStream };

function testConfig(input: Omit<ControllerConfigInput, 'host' | 'port'>, options: TestOptions) {
  const config = parseConfig({
    ...input,
    host: '127.0.0.1',
    port: 0,
    logLevel: options.logDestination ? 'info' : 'silent',
  });
  return { config, logger: createLogger(config.logLevel, options.logDestination) };
}

export async function startTestController(
  input: Omit<ControllerConfigInput, 'host' | 'port'>,
  options: TestOptions = {},
): Promise<RunningController> {
  const { config, logger } = testConfig(input, options);
  return startController(config, { ...options, logger });
}

/** The controller's app with its backends discovered, for `app.request()`: no socket of its own. */
export async function startTestApp(
  input: Omit<ControllerConfigInput, 'host' | 'port'>,
  options: TestOptions = {},
): Promise<AssembledController> {
  const { config, logger } = testConfig(input, options);
  const assembled = await assembleController(config, { ...options, logger });
  await assembled.registry.start();
  return assembled;
}

/** Sends JSON to the app (no socket) and returns status, headers and the parsed body. */
export async function requestJson(
  app: AssembledController['app'],
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
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
