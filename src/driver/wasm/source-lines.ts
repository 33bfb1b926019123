/**
 * Source lines through the instrumentation: a fault in an instrumented driver is named by file and line, with the
 * driver's call stack, as WinDbg's `!analyze -v` shows it.
 *
 * The compiled module's DWARF maps its code to lines, but binaryen's passes (the verifier's checks, inlining, the x64
 * lowering, asyncify) move every instruction and leave the DWARF stale. So before the passes, each call, load and
 * store of the driver's functions gets a binaryen debug location — the line DWARF gives its offset in the compiled
 * module, found by decoding the function's code in binaryen's order (the k-th call, load or store of the binary is
 * the k-th of the IR's post-order walk; a function where the counts differ is left without lines) — and binaryen
 * carries the locations through every pass and emits a source map of the instrumented module, kept in a custom
 * section beside it. A stack trace's wasm frames (function index, byte offset) are then looked up in that map: the
 * mapping at the frame's offset, else the next one in the same function (a memory check inlined before its load
 * or store).
 */
import { type SourceFrame, v8FunctionName } from '../../model/ke/bugcheck.js';
import { lineRows } from './dwarf.js';
import { customPayload, functionBodies, rowAt, sections } from './coverage.js';
import { decodeInlineChains, INLINE_SECTION, inlineIndex, type InlineLevel } from './inline-frames.js';
import { functionNames } from './module-info.js';

/** The custom section holding the instrumented module's source map (JSON, version 3). */
export const SOURCE_MAP_SECTION = 'psharness.sourcemap';

type Binaryen = any; // reason: binaryen.js ships loose typings for its expression builders

interface Site {
  /** Offset in the code section (what DWARF calls an address). */
  readonly address: number;
}

/** @internal The calls, loads and stores of each defined function, in code order; null for code this decoder does not know. */
export function sitesOf(bytes: Uint8Array): Site[][] | null {
  const code = sections(bytes).find((s) => s.id === 10);
  if (code === undefined) return [];
  const c = bytes.subarray(code.start, code.end);
  let i = 0;
  const uleb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      if (i >= c.length) throw new RangeError('truncated');
      const x = c[i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
      if (shift > 70) throw new RangeError('overlong');
    }
  };
  const skipLeb = (): void => {
    while (i < c.length && (c[i] & 0x80) !== 0) i++;
    i++;
  };
  const memarg = (): void => {
    const align = uleb();
    if ((align & 0x40) !== 0) uleb(); // a memory index (multi-memory)
    uleb();
  };
  try {
    const out: Site[][] = [];
    const count = uleb();
    for (let f = 0; f < count; f++) {
      const size = uleb();
      const end = i + size;
      if (end > c.length) return null; // a truncated body
      const sites: Site[] = [];
      const groups = uleb();
      for (let g = 0; g < groups; g++) {
        uleb();
        i++; // the locals' type (clang's C: numeric types only)
      }
      // binaryen does not read code after an unreachable, br, br_table or return up to its block's end or else
      let depth = 0;
      let deadFrom = -1;
      while (i < end) {
        const at = i;
        const op = c[i++];
        const live = deadFrom < 0;
        if (op === 0x02 || op === 0x03 || op === 0x04) {
          skipLeb(); // block type (s33)
          depth++;
        } else if (op === 0x05) {
          if (deadFrom === depth) deadFrom = -1;
        } else if (op === 0x0b) {
          if (deadFrom === depth) deadFrom = -1;
          depth--;
        } else if (op === 0x0c || op === 0x0d) {
          uleb();
          if (op === 0x0c && live) deadFrom = depth;
        } else if (op === 0x0e) {
          const n = uleb();
          for (let k = 0; k <= n; k++) uleb();
          if (live) deadFrom = depth;
        } else if (op === 0x00 || op === 0x0f) {
          if (live) deadFrom = depth;
        } else if (op === 0x10) {
          uleb();
          if (live) sites.push({ address: at });
        } else if (op === 0x11) {
          uleb();
          uleb();
          if (live) sites.push({ address: at });
        } else if (op === 0x01 || op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1) {
          // no immediates
        } else if (op === 0x1c) {
          const n = uleb();
          i += n;
        } else if (op >= 0x20 && op <= 0x26) uleb();
        else if (op >= 0x28 && op <= 0x3e) {
          memarg();
          if (live) sites.push({ address: at });
        } else if (op === 0x3f || op === 0x40) uleb();
        else if (op === 0x41 || op === 0x42) skipLeb();
        else if (op === 0x43) i += 4;
        else if (op === 0x44) i += 8;
        else if (op === 0xd0) i++;
        else if (op === 0xd2) uleb();
        else if (op === 0xfc) {
          const sub = uleb();
          // two immediates: memory.init, memory.copy, table.init, table.copy; one: data.drop, memory.fill, elem.drop,
          // table.grow, table.size, table.fill
          if (sub <= 7) { /* saturating truncations */ } else if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { uleb(); uleb(); }
          else if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) uleb();
          else return null;
        } else if (op === 0xfe) {
          const sub = uleb();
          if (sub === 0x03) i++;
          else {
            memarg();
            // atomic loads and stores are binaryen Loads and Stores
            if (live && sub >= 0x10 && sub <= 0x1d) sites.push({ address: at });
          }
        } else return null;
      }
      out.push(sites);
      i = end;
    }
    return out;
  } catch {
    return null;
  }
}

/** The children of an expression in evaluation order (the binary's order), by binaryen's field names. */
function childOrder(b: Binaryen): Map<number, readonly string[]> {
  return new Map<number, readonly string[]>([
    [b.BlockId, ['children']], [b.IfId, ['condition', 'ifTrue', 'ifFalse']], [b.LoopId, ['body']],
    [b.BreakId, ['value', 'condition']], [b.SwitchId, ['value', 'condition']], [b.CallId, ['operands']],
    [b.CallIndirectId, ['operands', 'target']], [b.LocalSetId, ['value']], [b.GlobalSetId, ['value']],
    [b.LoadId, ['ptr']], [b.StoreId, ['ptr', 'value']], [b.UnaryId, ['value']], [b.BinaryId, ['left', 'right']],
    [b.SelectId, ['ifTrue', 'ifFalse', 'condition']], [b.DropId, ['value']], [b.ReturnId, ['value']],
    [b.MemoryGrowId, ['delta']], [b.MemoryFillId, ['dest', 'value', 'size']], [b.MemoryCopyId, ['dest', 'source', 'size']],
    [b.MemoryInitId, ['dest', 'offset', 'size']], [b.AtomicRMWId, ['ptr', 'value']], [b.AtomicCmpxchgId, ['ptr', 'expected', 'replacement']],
    [b.ConstId, []], [b.LocalGetId, []], [b.GlobalGetId, []], [b.NopId, []], [b.UnreachableId, []], [b.MemorySizeId, []], [b.DataDropId, []],
  ]);
}

/** Walks `e` in post-order (children first, in evaluation order); false when it meets a kind it does not know. */
function postOrder(b: Binaryen, order: Map<number, readonly string[]>, e: number, visit: (e: number, id: number, parent: number) => void, parent = 0): boolean {
  const id = b.getExpressionId(e) as number;
  const fields = order.get(id);
  if (fields === undefined) return false;
  // binaryen.js describes only the kinds with fields: a leaf is not looked at
  const info = fields.length === 0 ? {} : b.getExpressionInfo(e) as Record<string, unknown>;
  for (const f of fields) {
    const v = info[f];
    const kids = Array.isArray(v) ? (v as number[]) : typeof v === 'number' && v !== 0 ? [v] : [];
    for (const k of kids) if (!postOrder(b, order, k, visit, e)) return false;
  }
  visit(e, id, parent);
  return true;
}

/** What the annotation reached: functions with lines, and those left without (their code did not match). */
export interface LineAnnotation {
  /** The file, line and inline chain of each load and store annotated (by expression), for their memory checks. */
  readonly accesses: Map<number, readonly [number, number, number]>;
  /** The inline chains the locations' columns name (column k: chains[k - 1]). */
  readonly chains: readonly (readonly InlineLevel[])[];
  /** The debug files, by binaryen's index. */
  readonly files: string[];
  /** instrument-memory's id of each checked access → its file (index) and line: the race detector's sites. */
  readonly sites: Map<number, readonly [number, number, number]>;
  readonly functions: number;
  readonly matched: number;
}

/**
 * Gives each call, load and store of the module's defined functions the debug location DWARF gives its place in
 * `compiled` (the module binaryen read). Run before any pass changes the IR.
 */
export function annotateSourceLines(b: Binaryen, m: Binaryen, compiled: Uint8Array): LineAnnotation {
  const accesses = new Map<number, readonly [number, number, number]>();
  const names: string[] = [];
  const secs = sections(compiled);
  const line = secs.find((s) => s.name === '.debug_line');
  const sites = line === undefined ? null : sitesOf(compiled);
  if (line === undefined || sites === null) return { accesses, files: names, sites: new Map(), functions: 0, matched: 0, chains: [] };
  const payload = (n: string): Uint8Array | undefined => {
    const s = secs.find((x) => x.name === n);
    return s === undefined ? undefined : customPayload(compiled, s);
  };
  const fileTables = new Map<number, readonly string[]>();
  const rows = lineRows(customPayload(compiled, line), payload('.debug_line_str'), payload('.debug_str'), fileTables)
    .filter((r) => r.line > 0).sort((x, y) => x.address - y.address);
  // the inlined functions each site lies in: the location's column names the chain (0: none), 1-based
  const debug = new Map<string, Uint8Array>();
  for (const s of secs) if (s.name?.startsWith('.debug_') === true) debug.set(s.name, customPayload(compiled, s));
  const inline = inlineIndex(debug, fileTables);
  const chains: (readonly InlineLevel[])[] = [];
  const chainIds = new Map<string, number>();
  const chainId = (address: number): number => {
    const c = inline.chainAt(address);
    if (c.length === 0) return 0;
    const key = JSON.stringify(c);
    let id = chainIds.get(key);
    if (id === undefined) {
      chains.push(c);
      chainIds.set(key, (id = chains.length));
    }
    return id;
  };
  const files = new Map<string, number>();
  const fileIndex = (f: string): number => {
    let k = files.get(f);
    if (k === undefined) {
      files.set(f, (k = m.addDebugInfoFileName(f) as number));
      names[k] = f.startsWith('drv/') ? f.slice(4) : f;
    }
    return k;
  };
  const order = childOrder(b);
  const defined: number[] = [];
  for (let k = 0; k < m.getNumFunctions(); k++) {
    const f = m.getFunctionByIndex(k);
    if ((b.getFunctionInfo(f) as { module: string }).module === '') defined.push(f);
  }
  let matched = 0;
  defined.forEach((f, k) => {
    const mine = sites[k];
    if (mine === undefined) return;
    const body = (b.getFunctionInfo(f) as { body: number }).body;
    const found: { e: number; id: number }[] = [];
    const known = body !== 0 && postOrder(b, order, body, (e, id) => {
      if (id === b.CallId || id === b.CallIndirectId || id === b.LoadId || id === b.StoreId) found.push({ e, id });
    });
    if (!known || found.length !== mine.length) return;
    matched++;
    found.forEach(({ e, id }, n) => {
      const row = rowAt(rows, mine[n].address);
      if (row === undefined) return;
      const file = fileIndex(row.file);
      const chain = chainId(mine[n].address);
      m.setDebugLocation(f, e, file, row.line, chain);
      if (id === b.LoadId || id === b.StoreId) accesses.set(e, [file, row.line, chain]);
    });
  });
  return { accesses, files: names, sites: new Map(), functions: defined.length, matched, chains };
}

/**
 * After binaryen's instrument-memory pass: the calls it wrapped around each annotated load and store (the address
 * check, the value hooks) take that access's location, so the check inlined in its place keeps it.
 */
export function annotateMemoryChecks(b: Binaryen, m: Binaryen, a: LineAnnotation): void {
  if (a.accesses.size === 0) return;
  const order = childOrder(b);
  for (let k = 0; k < m.getNumFunctions(); k++) {
    const f = m.getFunctionByIndex(k);
    const info = b.getFunctionInfo(f) as { module: string; body: number };
    if (info.module !== '' || info.body === 0) continue;
    postOrder(b, order, info.body, (e, kind, parent) => {
      if (kind !== b.CallId) return;
      // the call is the access's address (its ptr), its stored value, or wraps the loaded value
      const call = b.getExpressionInfo(e) as { target: string; operands: number[] };
      const at = a.accesses.get(parent) ?? call.operands.map((o) => a.accesses.get(o)).find((x) => x !== undefined);
      if (at === undefined) return;
      m.setDebugLocation(f, e, at[0], at[1], at[2]);
      // the address check's first operand is the access's id, which the check hands to the kernel with the access
      const site = call.operands[0];
      if ((call.target === 'load_ptr' || call.target === 'store_ptr') && site !== undefined && b.getExpressionId(site) === b.ConstId) {
        a.sites.set((b.getExpressionInfo(site) as { value: number }).value, at);
      }
    });
  }
}

/** The custom section naming each checked access's source line, by instrument-memory's id. */
export const SITES_SECTION = 'psharness.sites';

/** The sites section's content: the files, then [id, file index, line] triples. */
export function sitesJson(a: LineAnnotation): string {
  return JSON.stringify({ files: a.files, sites: [...a.sites].map(([id, [file, line]]) => [id, file, line]) });
}

/** `proctable.c:345` for an access id, from a module's sites section; undefined for an id it does not name. */
export function siteReader(section: ArrayBuffer | undefined): (id: number) => string | undefined {
  let map: Map<number, string> | null = null;
  return (id) => {
    if (map === null) {
      map = new Map();
      try {
        const j = section === undefined ? null : JSON.parse(new TextDecoder().decode(section)) as { files?: unknown; sites?: unknown };
        const files = Array.isArray(j?.files) ? j.files.map(String) : [];
        if (Array.isArray(j?.sites)) {
          for (const s of j.sites as unknown[]) {
            if (Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'number' && typeof s[2] === 'number') map.set(s[0], `${files[s[1]] ?? '?'}:${s[2]}`);
          }
        }
      } catch {
        // an unreadable section names no site
      }
    }
    return map.get(id);
  };
}

/** `bytes` with a custom section appended. */
export function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let x = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) x |= 0x80;
      out.push(x);
    } while (n > 0);
    return out;
  };
  const nameBytes = new TextEncoder().encode(name);
  const content = [...leb(nameBytes.length), ...nameBytes];
  const size = leb(content.length + payload.length);
  const out = new Uint8Array(bytes.length + 1 + size.length + content.length + payload.length);
  out.set(bytes, 0);
  let at = bytes.length;
  out[at++] = 0;
  out.set(size, at);
  at += size.length;
  out.set(content, at);
  at += content.length;
  out.set(payload, at);
  return out;
}

interface Mapping {
  readonly offset: number;
  readonly file: string;
  readonly line: number;
  /** The inline chain (1-based; 0 none): the column the annotation gave the location. */
  readonly column: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A version-3 source map's segments as (generated column, source, line): for a wasm module the column is its byte offset. */
function readSourceMap(json: string): Mapping[] {
  const map = JSON.parse(json) as { sources?: unknown; mappings?: unknown };
  if (!Array.isArray(map.sources) || typeof map.mappings !== 'string') return [];
  const sources = map.sources.map(String);
  const out: Mapping[] = [];
  let column = 0;
  let source = 0;
  let line = 0;
  let sourceColumn = 0;
  for (const segment of map.mappings.split(/[,;]/)) {
    if (segment === '') continue;
    const fields: number[] = [];
    let value = 0;
    let shift = 0;
    for (const ch of segment) {
      const d = BASE64.indexOf(ch);
      if (d < 0) return out;
      value += (d & 31) * 2 ** shift;
      if ((d & 32) !== 0) shift += 5;
      else {
        fields.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
        value = 0;
        shift = 0;
      }
    }
    column += fields[0] ?? 0;
    if (fields.length < 4) continue;
    source += fields[1];
    line += fields[2];
    sourceColumn += fields[3];
    out.push({ offset: column, file: sources[source] ?? '?', line: line + 1, column: sourceColumn });
  }
  return out.sort((x, y) => x.offset - y.offset);
}

/** A driver file's name as reports show it: `drv/x.c` is the driver's own `x.c`; other files as they are. */
function shownFile(file: string): string {
  return file.startsWith('drv/') ? file.slice(4) : file;
}

/** Names the instrumented module's frames in a V8 stack trace by function, file and line. */
export function symbolizer(instrumented: Uint8Array, importedFunctions: number): (stack: string | undefined) => SourceFrame[] {
  let mappings: Mapping[] | null = null;
  let bodies: readonly (readonly [number, number])[] = [];
  let names = new Map<number, string>();
  let chains: (readonly InlineLevel[])[] = [];
  const load = (): Mapping[] => {
    if (mappings !== null) return mappings;
    const all = sections(instrumented);
    const inlineSection = all.find((x) => x.name === INLINE_SECTION);
    chains = inlineSection === undefined ? [] : decodeInlineChains(customPayload(instrumented, inlineSection));
    const nameSection = all.find((x) => x.name === 'name');
    try {
      if (nameSection !== undefined) names = functionNames(customPayload(instrumented, nameSection));
    } catch {
      names = new Map();
    }
    const s = all.find((x) => x.name === SOURCE_MAP_SECTION);
    try {
      mappings = s === undefined ? [] : readSourceMap(new TextDecoder().decode(customPayload(instrumented, s)));
    } catch {
      mappings = [];
    }
    bodies = functionBodies(instrumented).bodies;
    return mappings;
  };
  return (stack) => {
    if (stack === undefined) return [];
    const out: SourceFrame[] = [];
    for (const text of stack.split('\n')) {
      // a C++ frame's name is its demangled signature, spaces and parentheses included
      const m = /^\s*at (?:\$)?(.+?) \(wasm:\/\/[^)]*:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)$/.exec(text);
      if (m === null) continue;
      const maps = load();
      // the name section's name for the function (V8 prefixes the module's name, which a C++ name cannot be cut from)
      const name = names.get(Number(m[2])) ?? v8FunctionName(m[1]);
      if (name === 'load_ptr' || name === 'store_ptr' || name.startsWith('psharness_')) continue;
      const offset = parseInt(m[3], 16);
      const body = bodies[Number(m[2]) - importedFunctions];
      // the mapping at the offset, else the next one inside the same function
      let lo = 0;
      let hi = maps.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (maps[mid].offset < offset) lo = mid + 1;
        else hi = mid;
      }
      const at = maps[lo];
      const inside = at !== undefined && body !== undefined && at.offset < body[1];
      const chain = inside && at.column > 0 ? chains[at.column - 1] : undefined;
      if (!inside) out.push({ function: name });
      else if (chain === undefined || chain.length === 0) out.push({ function: name, file: shownFile(at.file), line: at.line });
      else {
        // the inlined functions first, each at its line, then each caller at the line of the call inlined into it
        out.push({ function: chain[0].function, file: shownFile(at.file), line: at.line, inlined: true });
        chain.forEach((level, k) => {
          const caller = k + 1 < chain.length ? chain[k + 1].function : name;
          out.push({ function: caller, file: shownFile(level.callFile), line: level.callLine, ...(k + 1 < chain.length ? { inlined: true as const } : {}) });
        });
      }
    }
    return out;
  };
}
