/**
 * @module
 * `/_control/*`: faults and counters over HTTP, for tests that drive a server in another process. Only served
 * when the server was started with `controls: true`.
 *
 *   GET    /_control/stats    → LocalLmStats
 *   GET    /_control/faults   → {fault}
 *   POST   /_control/faults   {kind, count?, onlyFor?, forMs?, position?} | {clear: true}
 *   DELETE /_control/faults
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFaultSpec, type FaultControls } from './faults.ts';
import { readBody, sendJson } from './http-io.ts';

export interface ControlDeps {
  enabled: boolean;
  faults: FaultControls;
  stats(): unknown;
}

export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: ControlDeps,
): Promise<void> {
  if (!deps.enabled) return sendJson(res, 404, { detail: 'Not Found' });
  try {
    if (path === '/_control/stats' && req.method === 'GET') return sendJson(res, 200, deps.stats());
    if (path !== '/_control/faults') return sendJson(res, 404, { detail: 'Not Found' });
    if (req.method === 'GET') return sendJson(res, 200, { fault: deps.faults.current });
    if (req.method === 'DELETE') {
      await deps.faults.clear();
      return sendJson(res, 200, { fault: null });
    }
    if (req.method !== 'POST') return sendJson(res, 405, { detail: 'Method Not Allowed' });
    const raw = JSON.parse((await readBody(req)) || 'null') as unknown;
    if (raw === null || (typeof raw === 'object' && (raw as { clear?: unknown }).clear === true)) {
      await deps.faults.clear();
      return sendJson(res, 200, { fault: null });
    }
    const spec = parseFaultSpec(raw);
    if (typeof spec === 'string') return sendJson(res, 400, { detail: spec });
    // Answer first: a `refuse` fault closes this very connection.
    res.once('finish', () => void deps.faults.set(spec).catch(() => undefined));
    sendJson(res, 200, { fault: spec });
  } catch (err) {
    sendJson(res, 400, { detail: (err as Error).message });
  }
}
