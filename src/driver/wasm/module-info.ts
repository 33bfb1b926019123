/**
 * What a WebAssembly module declares, read from its sections (Node 20 has no type reflection): its imports with
 * their kinds and memory limits, and whether it has a start function. Enough to refuse a foreign module with a
 * clear reason before instantiating it.
 */
export interface ImportInfo {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** Memory imports: declared minimum and maximum (pages), and whether it is a 64-bit memory. */
  readonly memory?: { readonly min: number; readonly max: number | null; readonly memory64: boolean; readonly shared: boolean };
}

export interface ModuleInfo {
  readonly imports: readonly ImportInfo[];
  readonly hasStart: boolean;
}

const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

/** A cursor over a module's bytes: LEB128 integers and length-prefixed names. */
class Reader {
  i: number;
  constructor(readonly bytes: Uint8Array, start: number) {
    this.i = start;
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
export function functionNames(nameSection: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  const r = new Reader(nameSection, 0);
  while (r.i < nameSection.length) {
    const id = nameSection[r.i++];
    const end = r.leb() + r.i;
    if (id === 1) {
      const n = r.leb();
      for (let k = 0; k < n; k++) {
        const idx = r.leb();
        names.set(idx, r.str());
      }
    }
    r.i = end;
  }
  return names;
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
  let hasStart = false;
  while (r.i < bytes.length) {
    const id = bytes[r.i++];
    const size = leb();
    const end = r.i + size;
    if (id === 2) {
      const n = leb();
      for (let k = 0; k < n; k++) {
        const module = str();
        const name = str();
        const kindByte = bytes[r.i++];
        const kind = KINDS[kindByte] ?? 'tag';
        if (kindByte === 0) {
          leb();
          imports.push({ module, name, kind });
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
    } else if (id === 8) hasStart = true;
    r.i = end;
  }
  return { imports, hasStart };
}
