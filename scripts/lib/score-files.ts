/**
 * @module
 * File chores of the score CLI: counting input lines for the progress bar, and preparing an output file for a
 * resumed run (keep its complete lines, cut a line a crash left half-written). Both stream the file, so a
 * multi-gigabyte JSONL costs no memory.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

const NEWLINE = 0x0a;

/** Lines in a file the way `readline` sees them: a last line without a newline still counts. */
export async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = NEWLINE;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  return last === NEWLINE ? lines : lines + 1;
}

/**
 * Keeps the complete lines of `path` and truncates whatever follows the last newline (a line cut by a crash or
 * a kill). Returns how many complete lines remain; 0 when the file does not exist.
 */
export async function keepCompleteLines(path: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let lines = 0;
  let endOfLast = 0;
  let offset = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) {
      lines++;
      endOfLast = offset + i + 1;
    }
    offset += chunk.length;
  }
  if (endOfLast < size) {
    const file = await open(path, 'r+');
    try {
      await file.truncate(endOfLast);
    } finally {
      await file.close();
    }
  }
  return lines;
}
