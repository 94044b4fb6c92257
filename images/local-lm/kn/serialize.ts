/**
 * @module
 * One-file binary form of NgramData for the disk cache: a magic line, a JSON header listing the arrays, then
 * the arrays themselves, each 8-byte aligned so they can be viewed without copying.
 */
import type { NgramData } from './ngram-data.ts';

const MAGIC = 'EPKN1\n';

type ArrayField =
  | 'childKeys'
  | 'childIds'
  | 'followStart'
  | 'followTok'
  | 'followCount'
  | 'nodeTotal'
  | 'nodeGamma'
  | 'nodeDepth'
  | 'discounts';

const FIELDS: { name: ArrayField; kind: 'f64' | 'i32' | 'u8' }[] = [
  { name: 'childKeys', kind: 'f64' },
  { name: 'childIds', kind: 'i32' },
  { name: 'followStart', kind: 'i32' },
  { name: 'followTok', kind: 'i32' },
  { name: 'followCount', kind: 'i32' },
  { name: 'nodeTotal', kind: 'f64' },
  { name: 'nodeGamma', kind: 'f64' },
  { name: 'nodeDepth', kind: 'u8' },
  { name: 'discounts', kind: 'f64' },
];

interface Header {
  order: number;
  vocabSize: number;
  meta: unknown;
  arrays: { name: ArrayField; kind: string; offset: number; length: number }[];
}

const align8 = (n: number) => (n + 7) & ~7;

/** Serializes a model plus free-form metadata (kept in the header). */
export function encodeNgram(data: NgramData, meta: unknown = null): Buffer {
  const arrays: Header['arrays'] = [];
  let offset = 0;
  for (const f of FIELDS) {
    const arr = data[f.name];
    arrays.push({ name: f.name, kind: f.kind, offset, length: arr.length });
    offset = align8(offset + arr.byteLength);
  }
  const header: Header = { order: data.order, vocabSize: data.vocabSize, meta, arrays };
  let json = Buffer.from(JSON.stringify(header));
  const pre = Buffer.byteLength(MAGIC) + 8;
  const pad = align8(pre + json.length) - (pre + json.length);
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(pre + json.length + offset);
  out.write(MAGIC, 0);
  out.writeUInt32LE(json.length, Buffer.byteLength(MAGIC));
  json.copy(out, pre);
  const base = pre + json.length;
  for (const [i, f] of FIELDS.entries()) {
    const arr = data[f.name];
    const bytes = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    bytes.copy(out, base + arrays[i]!.offset);
  }
  return out;
}

/** Parses a buffer written by `encodeNgram`; throws on anything malformed. */
export function decodeNgram(buf: Buffer): { data: NgramData; meta: unknown } {
  if (buf.toString('utf8', 0, Buffer.byteLength(MAGIC)) !== MAGIC)
    throw new Error('not a local-lm model file');
  const jsonLen = buf.readUInt32LE(Buffer.byteLength(MAGIC));
  const pre = Buffer.byteLength(MAGIC) + 8;
  const header = JSON.parse(buf.toString('utf8', pre, pre + jsonLen)) as Header;
  // Copy into a fresh, aligned ArrayBuffer: Node's pooled Buffers are not 8-byte aligned.
  const body = new Uint8Array(buf.length - pre - jsonLen);
  body.set(buf.subarray(pre + jsonLen));
  const out: Record<string, unknown> = { order: header.order, vocabSize: header.vocabSize };
  for (const a of header.arrays) {
    const ctor = a.kind === 'f64' ? Float64Array : a.kind === 'i32' ? Int32Array : Uint8Array;
    if (a.offset + a.length * ctor.BYTES_PER_ELEMENT > body.byteLength)
      throw new Error('truncated model file');
    out[a.name] = new ctor(body.buffer, a.offset, a.length);
  }
  for (const f of FIELDS) if (!(f.name in out)) throw new Error(`model file lacks ${f.name}`);
  return { data: out as unknown as NgramData, meta: header.meta };
}
