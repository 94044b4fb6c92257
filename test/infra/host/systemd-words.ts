/**
 * @module
 * A small reader of systemd unit files for tests: continuation lines, `Key=value` entries, and `Exec*=` command
 * lines split into argv the way systemd does (quotes, `%%`/`%H` specifiers, `$$` and `${VAR}` expansion).
 * It is written from systemd.service(5)/systemd.syntax(7), independently of the renderer it checks.
 */

export interface UnitFile {
  /** Entries in file order, e.g. ['Service', 'ExecStart', '/usr/bin/docker run ...']. */
  readonly entries: ReadonlyArray<readonly [section: string, key: string, value: string]>;
}

export function parseUnit(text: string): UnitFile {
  const joined = text.replace(/\\\n/g, ' ');
  const entries: Array<[string, string, string]> = [];
  let section = '';
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = line.indexOf('=');
    entries.push([section, line.slice(0, eq), line.slice(eq + 1)]);
  }
  return { entries };
}

export function unitValues(unit: UnitFile, key: string): string[] {
  return unit.entries.filter(([, k]) => k === key).map(([, , v]) => v);
}

/** Where a command line runs: its environment, host name (`%H`) and template instance (`%i`). */
export interface ExecContext {
  readonly env?: Record<string, string>;
  readonly host?: string;
  readonly instance?: string;
}

/**
 * Splits a command line into argv: `${VAR}` becomes part of one word, a word `$VAR` becomes the variable's value
 * split at whitespace, `%%`, `%H`, `%i` and `$$` are resolved.
 */
export function execArgv(value: string, ctx: ExecContext = {}): string[] {
  const words: string[] = [];
  let i = 0;
  const s = value;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    let word = '';
    while (i < s.length && s[i] !== ' ') {
      const c = s[i] as string;
      if (c === "'") {
        const end = s.indexOf("'", i + 1);
        word += s.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        while (s[i] !== '"') {
          if (s[i] === '\\') i++;
          word += s[i];
          i++;
        }
        i++;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  const env = ctx.env ?? {};
  return words.flatMap((w) => {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) return (env[whole[1] as string] ?? '').split(/\s+/).filter(Boolean);
    return [expandWord(w, env, ctx.host ?? 'host', ctx.instance ?? '')];
  });
}

/** Resolves `%%`, `%H`, `%i`, `$$` and `${VAR}` in one word, left to right. */
function expandWord(
  word: string,
  env: Record<string, string>,
  host: string,
  instance: string,
): string {
  return word.replace(/%%|%H|%i|\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name?: string) => {
    if (m === '%%') return '%';
    if (m === '%H') return host;
    if (m === '%i') return instance;
    if (m === '$$') return '$';
    return env[name as string] ?? '';
  });
}

/** Reads `KEY='value'` / `KEY=value` lines of an EnvironmentFile. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[2] as string;
    env[m[1] as string] = /^'.*'$/.test(v) || /^".*"$/.test(v) ? v.slice(1, -1) : v;
  }
  return env;
}
