/**
 * Reading a file the user (or a report) names: a regular file only, of bounded size. A device, a FIFO or a directory
 * is refused without blocking on it (the file is opened non-blocking and checked through its descriptor, so a name
 * swapped for a FIFO after a stat cannot hang the read either). JSON is refused past a nesting depth before it is
 * parsed, so no recursive walk of it (schema validation, replay) can overflow the stack. The bounds: docs/limits.md.
 */
import { closeSync, constants, fstatSync, opendirSync, openSync, readSync, type Dirent } from 'node:fs';

/** A file that cannot be read as input: the one line says which file and why (exit 2). */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** Bounds on what psharness reads (bytes; depth in nested arrays and objects). */
export const INPUT_LIMITS = {
  report: 64 * 1024 * 1024,
  logSpec: 1024 * 1024,
  scenario: 64 * 1024 * 1024,
  source: 16 * 1024 * 1024,
  wasm: 64 * 1024 * 1024,
  jsonDepth: 200,
} as const;

function kindOf(st: ReturnType<typeof fstatSync>): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The bytes of `path`, a regular file of at most `maxBytes`; `what` names it in the error ("report", "log spec"). */
export function readInputFile(path: string, what: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputFileError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`${what} ${path} is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) throw new InputFileError(`${what} ${path} is ${st.size} bytes: more than the ${maxBytes} a ${what} may be`);
    // read to the end, but never past the bound (the file may grow while it is read)
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new InputFileError(`${what} ${path} is more than the ${maxBytes} bytes a ${what} may be`);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    closeSync(fd);
  }
}

export function readInputText(path: string, what: string, maxBytes: number): string {
  return readInputFile(path, what, maxBytes).toString('utf8');
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped): linear, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * JSON read from a user's file: refused past INPUT_LIMITS.jsonDepth, or when it does not parse. `onError` makes the
 * caller's error type (a report's is ReportError) from the one line.
 */
export function parseInputJson(text: string, path: string, what: string, onError: (line: string) => Error = (l) => new InputFileError(l)): unknown {
  const depth = jsonDepth(text);
  if (depth > INPUT_LIMITS.jsonDepth) throw onError(`${what} ${path} nests ${depth} levels deep: more than the ${INPUT_LIMITS.jsonDepth} a ${what} may`);
  try {
    return JSON.parse(text);
  } catch {
    throw onError(`${path} is not JSON`);
  }
}

/** The first `max` entries of a directory, in the order it gives them: a huge directory costs no more to look at. */
export function directoryEntries(dir: string, max: number): Dirent[] {
  const out: Dirent[] = [];
  const d = opendirSync(dir);
  try {
    for (let e = d.readSync(); e !== null && out.length < max; e = d.readSync()) out.push(e);
  } finally {
    d.closeSync();
  }
  return out;
}
