/**
 * @module
 * Reads prompt-logprob dicts from RAW response text, keeping key order (JSON.parse would sort integer keys).
 */
export interface RawEntry {
  token: number;
  logprob: string;
  rank: string;
}

const ENTRY =
  /"(\d+)":\{"logprob":([^,]+),"rank":([^,]+),"decoded_token":(?:"(?:[^"\\]|\\.)*"|null)\}/g;

/** Every prompt-logprob dict in the text, in order, each as its entries in byte order. */
export function rawLogprobDicts(text: string): RawEntry[][] {
  const dicts: RawEntry[][] = [];
  for (const m of text.matchAll(ENTRY)) {
    const entry = { token: Number(m[1]), logprob: m[2]!, rank: m[3]! };
    // A dict starts where the entry follows "{"; otherwise it continues the current dict after ",".
    if (text[m.index - 1] === '{') dicts.push([entry]);
    else dicts.at(-1)!.push(entry);
  }
  return dicts;
}
