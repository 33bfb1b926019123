/**
 * Edge coverage of a C driver: clang's `-fsanitize-coverage=trace-pc-guard` puts a call to
 * `__sanitizer_cov_trace_pc_guard(&guard)` on every edge; the loader counts the calls by guard address. Which
 * source line each guard belongs to comes from the compiled module itself: the `i32.const <guard>; call <hook>`
 * pairs in its code section (`i64.const` in the x64 image, a wasm64 module), looked up in its DWARF line table
 * (-g). Only the driver's own files are kept. Both images of a driver count into one collector: the x64 image's
 * guards are keyed apart (X64_KEY), and the lcov writer adds the two images' hits of the same edge.
 */
import { lineRows, type LineRow } from './dwarf.js';

export interface CoveragePoint {
  /** The guard's key in `hits`: its address in the x86 image, or X64_KEY plus its address in the x64 image. */
  readonly guard: number;
  readonly target: 'x86' | 'x64';
  /** The source file, relative to the driver's directory. */
  readonly file: string;
  readonly line: number;
}

/** Where the x64 image's guard keys start: above every wasm32 address, so the two images' guards never meet. */
export const X64_KEY = 2 ** 32;

/** Counts of a campaign's edge hits, filled by the loader, read by the lcov writer. */
export interface CoverageCollector {
  readonly points: readonly CoveragePoint[];
  readonly hits: Map<number, number>;
}

/** The module's sections: id, custom name, payload range. */
export function sections(bytes: Uint8Array): { id: number; name?: string; start: number; end: number }[] {
  const out: { id: number; name?: string; start: number; end: number }[] = [];
  let i = 8;
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = bytes[i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const id = bytes[i++];
    const size = leb();
    const start = i;
    let name: string | undefined;
    if (id === 0) {
      const n = leb();
      name = new TextDecoder().decode(bytes.subarray(i, i + n));
    }
    out.push({ id, ...(name !== undefined ? { name } : {}), start, end: start + size });
    i = start + size;
  }
  return out;
}

/**
 * The defined functions' bodies, in function-index order, as module byte ranges (the code section: a count, then
 * each body as its size and bytes; a DWARF address is an offset from `codeStart`).
 */
export function functionBodies(bytes: Uint8Array): { readonly codeStart: number; readonly bodies: readonly (readonly [number, number])[] } {
  const code = sections(bytes).find((s) => s.id === 10);
  if (code === undefined) return { codeStart: 0, bodies: [] };
  let i = code.start;
  const uleb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = bytes[i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0 || i >= code.end) return r;
      shift += 7;
    }
  };
  const bodies: [number, number][] = [];
  const count = uleb();
  for (let f = 0; f < count && i < code.end; f++) {
    const size = uleb();
    bodies.push([i, i + size]);
    i += size;
  }
  return { codeStart: code.start, bodies };
}

/** A custom section's payload (after its name). */
export function customPayload(bytes: Uint8Array, s: { start: number; end: number }): Uint8Array {
  let i = s.start;
  let n = 0;
  let shift = 0;
  for (;;) {
    const x = bytes[i++];
    n += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) break;
    shift += 7;
  }
  return bytes.subarray(i + n, s.end);
}

/** The coverage points of a module compiled with -g -fsanitize-coverage=trace-pc-guard, mapped to `drv/` files. */
export function coveragePoints(bytes: Uint8Array, hookImportIndex: number, guardRange: readonly [number, number], target: 'x86' | 'x64' = 'x86'): CoveragePoint[] {
  const secs = sections(bytes);
  const code = secs.find((s) => s.id === 10);
  const line = secs.find((s) => s.name === '.debug_line');
  if (code === undefined || line === undefined) return [];
  const payload = (name: string): Uint8Array | undefined => {
    const s = secs.find((x) => x.name === name);
    return s === undefined ? undefined : customPayload(bytes, s);
  };
  const rows = lineRows(customPayload(bytes, line), payload('.debug_line_str'), payload('.debug_str'))
    .filter((r) => r.line > 0).sort((a, b) => a.address - b.address);
  // `i32.const <guard>` (0x41 sleb; i64.const, 0x42, in a wasm64 module) then `call <hook>` (0x10 uleb): guard
  // addresses lie in the image's data
  const constOp = target === 'x64' ? 0x42 : 0x41;
  const out: CoveragePoint[] = [];
  const c = bytes.subarray(code.start, code.end);
  for (let i = 0; i < c.length; i++) {
    if (c[i] !== constOp) continue;
    let j = i + 1;
    let v = 0;
    let shift = 0;
    let x: number;
    do {
      x = c[j++];
      v += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((x & 0x80) !== 0 && j < c.length && shift < 70);
    if ((x & 0x40) !== 0) v -= 2 ** shift;
    if (v < guardRange[0] || v >= guardRange[1] || c[j] !== 0x10) continue;
    let k = j + 1;
    let idx = 0;
    shift = 0;
    do {
      x = c[k++];
      idx += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((x & 0x80) !== 0 && k < c.length);
    if (idx !== hookImportIndex) continue;
    const row = rowAt(rows, j);
    if (row !== undefined && row.file.startsWith('drv/')) out.push({ guard: target === 'x64' ? X64_KEY + v : v, target, file: row.file.slice(4), line: row.line });
  }
  return out;
}

/** The last row at or before `address` (binary search over rows sorted by address). */
export function rowAt(rows: readonly LineRow[], address: number): LineRow | undefined {
  let lo = 0;
  let hi = rows.length - 1;
  let best: LineRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].address <= address) {
      best = rows[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}
