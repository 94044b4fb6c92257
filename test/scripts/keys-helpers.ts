/** Runs the key CLI in-process and collects what it printed. */
import { runKeysCli, type KeysCliIo } from '../../scripts/keys.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function keysCli(argv: string[], io: Partial<KeysCliIo> = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runKeysCli(argv, {
    env: {},
    ...io,
    out: { write: (t: string) => (out += t) },
    err: { write: (t: string) => (err += t) },
  });
  return { code, out, err };
}

/** `create --json` and return the parsed result. */
export async function createKey(
  store: string,
  name: string,
  extra: string[] = [],
  io: Partial<KeysCliIo> = {},
): Promise<{ id: string; key: string; name: string; expiresAt: string | null }> {
  const run = await keysCli(['create', '--store', store, '--name', name, '--json', ...extra], io);
  if (run.code !== 0) throw new Error(`keys create failed (${run.code}): ${run.err}`);
  return JSON.parse(run.out);
}
