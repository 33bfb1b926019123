/**
 * Where a C driver's routines are in its source: a build with `-g` (x86, cached like any build), its name section
 * for the functions' names and its DWARF line table for the first line of each body — the line a routine's
 * definition opens on. Findings point there (SARIF, CI annotations, JUnit, reports): a callback's finding at the
 * callback, a bug check at the function that faulted.
 */
import { lineRows } from './dwarf.js';
import { customPayload, sections } from './coverage.js';
import { compileDriver } from './compile.js';
import { functionNames, inspectModule } from './module-info.js';

export interface SourceLine {
  /** The source file, relative to the driver's directory. */
  readonly file: string;
  readonly line: number;
}

/** Each named function of a module built with -g: the first line of its body in the driver's own files. */
export function functionLines(bytes: Uint8Array): Map<string, SourceLine> {
  const out = new Map<string, SourceLine>();
  const secs = sections(bytes);
  const code = secs.find((s) => s.id === 10);
  const line = secs.find((s) => s.name === '.debug_line');
  const name = secs.find((s) => s.name === 'name');
  if (code === undefined || line === undefined || name === undefined) return out;
  const payload = (n: string): Uint8Array | undefined => {
    const s = secs.find((x) => x.name === n);
    return s === undefined ? undefined : customPayload(bytes, s);
  };
  const rows = lineRows(customPayload(bytes, line), payload('.debug_line_str'), payload('.debug_str'))
    .filter((r) => r.line > 0 && r.file.startsWith('drv/')).sort((a, b) => a.address - b.address);
  const names = functionNames(customPayload(bytes, name));
  const imported = inspectModule(bytes).imports.filter((i) => i.kind === 'function').length;
  // the code section: a count, then each body as its size and bytes; DWARF addresses are offsets in the section
  const c = bytes.subarray(code.start, code.end);
  let i = 0;
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = c[i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0 || i >= c.length) return r;
      shift += 7;
    }
  };
  const count = leb();
  let k = 0;
  for (let f = 0; f < count && i < c.length; f++) {
    const size = leb();
    const start = i;
    const end = start + size;
    while (k < rows.length && rows[k].address < start) k++;
    const first = rows[k];
    const fn = names.get(imported + f);
    if (fn !== undefined && first !== undefined && first.address < end && !out.has(fn)) out.set(fn, { file: first.file.slice(4), line: first.line });
    i = end;
  }
  return out;
}

/** The routines of a .c driver and the lines they open on (a -g build of its x86 image). */
export async function routineLines(path: string, defines?: Readonly<Record<string, string>>): Promise<Map<string, SourceLine>> {
  const c = await compileDriver(path, defines, ['-g'], 'x86');
  return functionLines(new Uint8Array(c.wasm));
}
