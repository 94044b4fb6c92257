import { describe, expect, it } from 'vitest';
import { ndjsonLines } from '../../../../controller/playground/client/ndjson.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

describe('ndjsonLines', () => {
  it('yields each line as it completes, across chunk and multi-byte boundaries', async () => {
    const bytes = new TextEncoder().encode('{"a":"é"}\n\n{"b":2}\n{"c":3}');
    const split = [bytes.slice(0, 7), bytes.slice(7, 13), bytes.slice(13)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of split) controller.enqueue(part);
        controller.close();
      },
    });
    const out: unknown[] = [];
    for await (const line of ndjsonLines(stream)) out.push(line);
    expect(out).toEqual([{ a: 'é' }, { b: 2 }, { c: 3 }]);
  });

  it('throws on a line that is not JSON', async () => {
    const read = async () => {
      for await (const _ of ndjsonLines(streamOf(['{"a":1}\nnot json\n'])));
    };
    await expect(read()).rejects.toThrow(SyntaxError);
  });
});
