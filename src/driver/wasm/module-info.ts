/**
 * What a WebAssembly module declares, read from its sections (Node 20 has no type reflection): its imports with
 * their kinds and memory limits, and whether it has a start function. Enough to refuse a foreign module with a
 * clear reason before instantiating it.
 */
import { shortFunctionName } from '../../model/ke/bugcheck.js';
export interface ImportInfo {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** Function imports: the value types of the parameters and results ('i32', 'i64', 'f32', 'f64'). */
  readonly signature?: { readonly params: readonly ValueType[]; readonly results: readonly ValueType[] };
  /** Memory imports: declared minimum and maximum (pages), and whether it is a 64-bit memory. */
  readonly memory?: { readonly min: number; readonly max: number | null; readonly memory64: boolean; readonly shared: boolean };
}

export interface ModuleInfo {
  readonly imports: readonly ImportInfo[];
  /** Exported globals with a constant initial value (i32.const / i64.const): __heap_base, __stack_pointer. */
  readonly globals: ReadonlyMap<string, number>;
  readonly hasStart: boolean;
  /**
   * The start function, when it only zeroes memory (`memory.fill` of constant ranges with 0): what wasm-ld makes
   * (`__wasm_init_memory`) to clear `.bss` in a memory it imports. The ranges it clears; null for any other start.
   */
  readonly startZeroes: readonly (readonly [number, number])[] | null;
  /** What instantiating the module writes, when a kept instance can be given it again (InstanceState); else null. */
  readonly instance: InstanceState | null;
}

const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'other';
const VALUE_TYPES: Readonly<Record<number, ValueType>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };

/** A cursor over a module's bytes: LEB128 integers and length-prefixed names. */
class Reader {
  i: number;
  constructor(readonly bytes: Uint8Array, start: number) {
    this.i = start;
  }
  /** A signed LEB128 integer (a constant in an init expression), exact up to 2^53. */
  sleb(): number {
    let r = 0n;
    let shift = 0n;
    let x: number;
    do {
      x = this.bytes[this.i++];
      r |= BigInt(x & 0x7f) << shift;
      shift += 7n;
    } while ((x & 0x80) !== 0);
    if ((x & 0x40) !== 0) r -= 1n << shift;
    return Number(r);
  }
  leb(): number {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = this.bytes[this.i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
    }
  }
  str(): string {
    const n = this.leb();
    const s = new TextDecoder().decode(this.bytes.subarray(this.i, this.i + n));
    this.i += n;
    return s;
  }
}

/** Function names from a module's "name" custom section (function index → name). */
export { shortFunctionName };

export function functionNames(nameSection: Uint8Array, short = true): Map<number, string> {
  const names = new Map<number, string>();
  const r = new Reader(nameSection, 0);
  while (r.i < nameSection.length) {
    const id = nameSection[r.i++];
    const end = r.leb() + r.i;
    if (id === 1) {
      const n = r.leb();
      for (let k = 0; k < n && r.i < end; k++) {
        const idx = r.leb();
        const name = r.str();
        names.set(idx, short ? shortFunctionName(name) : name);
      }
    }
    r.i = end;
  }
  return names;
}

/** A function body that is only `memory.fill(const, 0, const)` instructions: the ranges; else null. */
function zeroFills(r: Reader, end: number): [number, number][] | null {
  const b = r.bytes;
  if (r.leb() !== 0) return null; // no locals
  const out: [number, number][] = [];
  while (r.i < end && b[r.i] !== 0x0b) {
    // a constant; an i64 one may be wrapped to i32 (binaryen's memory64 lowering of an x64 image: i32.wrap_i64)
    const constant = (): number | null => {
      if (b[r.i] !== 0x41 && b[r.i] !== 0x42) return null;
      const wide = b[r.i++] === 0x42;
      const v = r.sleb();
      if (wide && b[r.i] === 0xa7) r.i++;
      return v;
    };
    const at = constant();
    const value = b[r.i] === 0x41 ? (r.i++, r.sleb()) : null;
    const length = constant();
    // memory.fill is 0xFC 11 followed by the memory index 0
    if (at === null || value !== 0 || length === null || b[r.i] !== 0xfc || b[r.i + 1] !== 0x0b || b[r.i + 2] !== 0) return null;
    r.i += 3;
    out.push([at, length]);
  }
  return r.i === end - 1 && b[r.i] === 0x0b ? out : null;
}

export function inspectModule(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes, 8); // after magic and version (the module already validated)
  const leb = (): number => r.leb();
  const str = (): string => r.str();
  const limits = (): { min: number; max: number | null; memory64: boolean; shared: boolean } => {
    const flags = bytes[r.i++];
    const min = leb();
    const max = (flags & 1) !== 0 ? leb() : null;
    return { min, max, memory64: (flags & 4) !== 0, shared: (flags & 2) !== 0 };
  };
  const imports: ImportInfo[] = [];
  const types: { params: ValueType[]; results: ValueType[] }[] = [];
  const valueTypes = (): ValueType[] => {
    const n = leb();
    const out: ValueType[] = [];
    for (let k = 0; k < n && r.i < bytes.length; k++) out.push(VALUE_TYPES[bytes[r.i++]] ?? 'other');
    return out;
  };
  let hasStart = false;
  let start = -1;
  let startZeroes: [number, number][] | null = null;
  const globalInits: (number | undefined)[] = [];
  const exportedGlobals = new Map<string, number>();
  // for InstanceState: each global's mutability and initial value (null: not a lone constant), exported globals'
  // names by index, the active data segments (null: a segment instantiation does not simply copy)
  const globalDefs: { mutable: boolean; value: number | bigint | null }[] = [];
  const globalNames = new Map<number, string>();
  let data: { offset: number; bytes: Uint8Array }[] | null = [];
  while (r.i < bytes.length) {
    const id = bytes[r.i++];
    const size = leb();
    const end = r.i + size;
    if (id === 1) {
      const n = leb();
      for (let k = 0; k < n && bytes[r.i] === 0x60; k++) {
        r.i++;
        const params = valueTypes();
        types.push({ params, results: valueTypes() });
      }
    } else if (id === 2) {
      const n = leb();
      for (let k = 0; k < n && r.i < end; k++) {
        const module = str();
        const name = str();
        const kindByte = bytes[r.i++];
        const kind = KINDS[kindByte] ?? 'tag';
        if (kindByte === 0) {
          const signature = types[leb()];
          imports.push({ module, name, kind, ...(signature !== undefined ? { signature } : {}) });
        } else if (kindByte === 1) {
          r.i++; // reference type
          limits();
          imports.push({ module, name, kind });
        } else if (kindByte === 2) {
          imports.push({ module, name, kind, memory: limits() });
        } else if (kindByte === 3) {
          r.i += 2; // value type, mutability
          imports.push({ module, name, kind });
        } else {
          imports.push({ module, name, kind });
          break; // tags and newer kinds: nothing after them is needed
        }
      }
    } else if (id === 6) {
      const n = leb();
      for (let k = 0; k < n && r.i < end; k++) {
        const type = bytes[r.i++];
        const mutable = bytes[r.i++] === 1;
        const op = bytes[r.i++];
        let value: number | undefined;
        if (op === 0x41 || op === 0x42) value = r.sleb();
        // an i64 global holds a bigint in JavaScript (sleb gives a number: exact for the constants a linker writes)
        globalDefs.push({ mutable, value: value === undefined || bytes[r.i] !== 0x0b ? null : type === 0x7e ? BigInt(value) : value });
        // the rest of the init expression (a constant's is just `end`)
        while (bytes[r.i] !== 0x0b && r.i < end) r.i++;
        r.i++;
        globalInits.push(value);
      }
    } else if (id === 7) {
      const n = leb();
      const importedGlobals = imports.filter((i) => i.kind === 'global').length;
      for (let k = 0; k < n && r.i < end; k++) {
        const name = str();
        const kind = bytes[r.i++];
        const index = leb();
        const value = kind === 3 ? globalInits[index - importedGlobals] : undefined;
        if (value !== undefined) exportedGlobals.set(name, value);
        if (kind === 3) globalNames.set(index - importedGlobals, name);
      }
    } else if (id === 8) {
      hasStart = true;
      start = leb();
    } else if (id === 10 && start >= 0) {
      const index = start - imports.filter((i) => i.kind === 'function').length;
      const n = leb();
      for (let k = 0; k < n && k <= index && r.i < end; k++) {
        const bodySize = leb();
        const bodyEnd = r.i + bodySize;
        if (k === index) startZeroes = zeroFills(r, bodyEnd);
        r.i = bodyEnd;
      }
    } else if (id === 11) {
      const n = leb();
      for (let k = 0; k < n && r.i < end && data !== null; k++) {
        const flags = leb();
        // active, memory 0, at a constant (i32.const / i64.const, then end); passive or another memory's: not a copy
        const op = bytes[r.i++];
        const offset = flags === 0 && (op === 0x41 || op === 0x42) ? r.sleb() : null;
        if (offset === null || bytes[r.i] !== 0x0b) {
          data = null;
          break;
        }
        r.i++;
        const length = leb();
        data.push({ offset, bytes: bytes.slice(r.i, r.i + length) });
        r.i += length;
      }
    }
    r.i = end;
  }
  const instance = hasStart && startZeroes === null || imports.some((i) => i.kind === 'global') || data === null || globalDefs.some((g) => g.value === null)
    ? null
    : {
      globals: globalDefs.flatMap((g, index) => (g.mutable && globalNames.has(index) ? [{ name: globalNames.get(index) as string, value: g.value as number | bigint }] : [])),
      hidden: globalDefs.filter((g, index) => g.mutable && !globalNames.has(index)).length,
      data,
      zeroes: startZeroes ?? [],
    };
  return { imports, globals: exportedGlobals, hasStart, startZeroes, instance };
}

/** The module's custom sections by name (the first of each name), read from its bytes (a wasm64 module too). */
export function customSections(bytes: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const r = new Reader(bytes, 8);
  while (r.i < bytes.length) {
    const id = bytes[r.i++];
    const size = r.leb();
    const end = r.i + size;
    if (id === 0) {
      const name = r.str();
      if (!out.has(name)) out.set(name, bytes.subarray(r.i, end));
    }
    r.i = end;
  }
  return out;
}

/** The module without its DWARF (`.debug_*` custom sections): what the instrumentation reads. */
export function withoutDebugSections(bytes: Uint8Array): Uint8Array {
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  const r = new Reader(bytes, 8);
  let dropped = false;
  while (r.i < bytes.length) {
    const start = r.i;
    const id = bytes[r.i++];
    const size = r.leb();
    const end = r.i + size;
    if (id === 0 && r.str().startsWith('.debug_')) dropped = true;
    else keep.push(bytes.subarray(start, end));
    r.i = end;
  }
  if (!dropped) return bytes;
  const out = new Uint8Array(keep.reduce((n, k) => n + k.length, 0));
  let at = 0;
  for (const k of keep) {
    out.set(k, at);
    at += k.length;
  }
  return out;
}

/**
 * Everything instantiating a module writes (`ModuleInfo.instance`), when that can be written again without a new
 * instance: the constant initial values of its exported mutable globals, its active data segments (constant
 * offsets), and the ranges its start function zeroes. `hidden`: mutable globals it does not export (asyncify's state and data pointer in the
 * fibers build), which a reuse cannot reset. Null when instantiation does more (a global or offset that is not a
 * constant, passive segments, another start function).
 */
export interface InstanceState {
  readonly globals: readonly { readonly name: string; readonly value: number | bigint }[];
  readonly hidden: number;
  readonly data: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  readonly zeroes: readonly (readonly [number, number])[];
}
