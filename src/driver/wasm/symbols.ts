/**
 * Where a C driver's routines are in its source: its x86 build (built with -g like every build, cached), its name section
 * for the functions' names and its DWARF line table for the first line of each body — the line a routine's
 * definition opens on. Findings point there (SARIF, CI annotations, JUnit, reports): a callback's finding at the
 * callback, a bug check at the function that faulted.
 */
import { lineRows } from './dwarf.js';
import { customPayload, functionBodies, sections } from './coverage.js';
import { compileDriver } from './compile.js';
import { resolveProject } from './project.js';
import { functionNames, inspectModule } from './module-info.js';
import { readDies, type Die } from './frames.js';

export interface SourceLine {
  /** The source file, relative to the driver's directory. */
  readonly file: string;
  readonly line: number;
}

/** Each named function of a module built with -g: the first line of its body in the driver's own files. */
export function functionLines(bytes: Uint8Array): Map<string, SourceLine> {
  const out = new Map<string, SourceLine>();
  const secs = sections(bytes);
  const line = secs.find((s) => s.name === '.debug_line');
  const name = secs.find((s) => s.name === 'name');
  if (line === undefined || name === undefined) return out;
  const payload = (n: string): Uint8Array | undefined => {
    const s = secs.find((x) => x.name === n);
    return s === undefined ? undefined : customPayload(bytes, s);
  };
  const rows = lineRows(customPayload(bytes, line), payload('.debug_line_str'), payload('.debug_str'))
    .filter((r) => r.line > 0 && r.file.startsWith('drv/')).sort((a, b) => a.address - b.address);
  const names = functionNames(customPayload(bytes, name));
  const imported = inspectModule(bytes).imports.filter((i) => i.kind === 'function').length;
  // DWARF addresses are offsets in the code section
  const { codeStart, bodies } = functionBodies(bytes);
  let k = 0;
  bodies.forEach(([from, to], f) => {
    const start = from - codeStart;
    const end = to - codeStart;
    while (k < rows.length && rows[k].address < start) k++;
    const first = rows[k];
    const fn = names.get(imported + f);
    if (fn !== undefined && first !== undefined && first.address < end && !out.has(fn)) out.set(fn, { file: first.file.slice(4), line: first.line });
  });
  return out;
}

/** The routines of a .c driver and the lines they open on (its x86 build: every build carries DWARF, and is cached). */
export async function routineLines(path: string, defines?: Readonly<Record<string, string>>, configuration?: string): Promise<Map<string, SourceLine>> {
  const project = resolveProject(path, configuration);
  const target = project.builds.x86 !== undefined ? 'x86' : 'x64';
  const c = await compileDriver(project.builds[target] ?? path, defines, [], target);
  return functionLines(new Uint8Array(c.wasm));
}

/** A global or static variable of the driver: where it lies in the image, its size when DWARF gives one. */
export interface DataSymbol {
  readonly name: string;
  readonly address: number;
  readonly size?: number;
}

const DW_TAG_variable = 0x34;
const DW_TAG_array_type = 0x01;
const DW_TAG_subrange_type = 0x21;
const DW_AT_name = 0x03;
const DW_AT_location = 0x02;
const DW_AT_type = 0x49;
const DW_AT_byte_size = 0x0b;
const DW_AT_count = 0x37;
const DW_AT_upper_bound = 0x2f;
const DW_OP_addr = 0x03;

/** The driver's variables with a fixed address (`DW_OP_addr`), from `.debug_info`, sorted by address. */
export function dataSymbols(debug: ReadonlyMap<string, Uint8Array>): DataSymbol[] {
  const info = debug.get('.debug_info');
  const abbrev = debug.get('.debug_abbrev');
  if (info === undefined || abbrev === undefined) return [];
  let dies: ReturnType<typeof readDies>;
  try {
    dies = readDies(info, abbrev, debug.get('.debug_str'));
  } catch {
    return [];
  }
  const sizeOf = (offset: unknown, depth = 0): number | undefined => {
    const t = typeof offset === 'number' ? dies.byOffset.get(offset) : undefined;
    if (t === undefined || depth > 16) return undefined;
    const own = t.attrs.get(DW_AT_byte_size);
    if (typeof own === 'number') return own;
    if (t.tag === DW_TAG_array_type) {
      const element = sizeOf(t.attrs.get(DW_AT_type), depth + 1);
      let count = 1;
      for (const r of t.children.filter((c) => c.tag === DW_TAG_subrange_type)) {
        const n = r.attrs.get(DW_AT_count);
        const ub = r.attrs.get(DW_AT_upper_bound);
        if (typeof n === 'number') count *= n;
        else if (typeof ub === 'number') count *= ub + 1;
        else return undefined;
      }
      return element === undefined ? undefined : element * count;
    }
    return sizeOf(t.attrs.get(DW_AT_type), depth + 1); // typedef, const, volatile
  };
  const out: DataSymbol[] = [];
  const visit = (d: Die): void => {
    const loc = d.attrs.get(DW_AT_location);
    const name = d.attrs.get(DW_AT_name);
    if (d.tag === DW_TAG_variable && loc instanceof Uint8Array && loc[0] === DW_OP_addr && typeof name === 'string'
      && loc.length === 1 + dies.addressSize) {
      let address = 0;
      for (let k = dies.addressSize - 1; k >= 0; k--) address = address * 256 + loc[1 + k];
      const size = sizeOf(d.attrs.get(DW_AT_type));
      out.push({ name, address, ...(size !== undefined ? { size } : {}) });
    }
    for (const c of d.children) visit(c);
  };
  for (const u of dies.units) visit(u);
  return out.sort((a, b) => a.address - b.address);
}

/** `gCount`, or `gTable+0x10` inside one: the variable at `address` (within its size, else before the next). */
export function symbolAt(symbols: readonly DataSymbol[], address: number): string | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid].address <= address) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  const s = symbols[best];
  // without a size, a variable reaches to the next one
  const limit = s.size !== undefined ? s.address + s.size : (symbols[best + 1]?.address ?? s.address + 1);
  if (address >= limit) return undefined;
  const off = address - s.address;
  return off === 0 ? s.name : `${s.name}+0x${off.toString(16).toUpperCase()}`;
}
