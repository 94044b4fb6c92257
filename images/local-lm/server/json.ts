/**
 * @module
 * Hand-written JSON for the parts of a completion where byte layout matters. vLLM (Python) writes each
 * prompt-logprob dict in insertion order (the actual token first, then the top-k), while a JS object with
 * integer-like keys always serializes in ascending numeric order. Floats are written the way Python's json
 * module writes them (`-9999.0`, `1e-07`), so the controller sees realistic bytes.
 */

/** One prompt-logprob entry: token id, logprob, rank, decoded token. */
export interface LogprobEntry {
  token: number;
  logprob: number;
  rank: number | null;
  decoded: string | null;
}

/** Python `repr(float)` for finite numbers; NaN/±Infinity as Python's json writes them. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0.0';
  const s = String(x);
  if (!s.includes('e')) return Number.isInteger(x) ? `${s}.0` : s;
  // JS writes 1e-7 / 1e+21; Python writes 1e-07 / 1e+21 (at least two exponent digits).
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** A prompt-logprob dict in insertion order; a duplicate token keeps its first slot and takes the later rank. */
export function logprobDict(entries: readonly LogprobEntry[]): string {
  // At most k + 1 ≤ 21 entries: a linear scan beats a Map here.
  const unique: LogprobEntry[] = [];
  for (const e of entries) {
    const at = unique.findIndex((u) => u.token === e.token);
    // Python dict update: the key keeps its position, the value is replaced.
    if (at < 0) unique.push(e);
    else unique[at] = { ...unique[at]!, rank: e.rank, logprob: e.logprob };
  }
  let out = '{';
  for (const e of unique) {
    const rank = e.rank === null ? 'null' : String(e.rank);
    if (out.length > 1) out += ',';
    out += `"${e.token}":{"logprob":${pyFloat(e.logprob)},"rank":${rank},"decoded_token":${JSON.stringify(e.decoded)}}`;
  }
  return `${out}}`;
}

/** `[null, {...}, ...]` for a whole prompt. */
export function promptLogprobsJson(positions: readonly (readonly LogprobEntry[] | null)[]): string {
  return `[${positions.map((p) => (p === null ? 'null' : logprobDict(p))).join(',')}]`;
}

/** A JSON object from pre-serialized values, keeping the given key order. */
export function rawObject(fields: readonly [string, string][]): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}
