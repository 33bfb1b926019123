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

export function inspectModule(bytes: Uint8Array): ModuleInfo {
  let i = 8; // magic and version (the module already validated)
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
  const str = (): string => {
    const n = leb();
    const s = new TextDecoder().decode(bytes.subarray(i, i + n));
    i += n;
    return s;
  };
  const limits = (): { min: number; max: number | null; memory64: boolean; shared: boolean } => {
    const flags = bytes[i++];
    const min = leb();
    const max = (flags & 1) !== 0 ? leb() : null;
    return { min, max, memory64: (flags & 4) !== 0, shared: (flags & 2) !== 0 };
  };
  const imports: ImportInfo[] = [];
  let hasStart = false;
  while (i < bytes.length) {
    const id = bytes[i++];
    const size = leb();
    const end = i + size;
    if (id === 2) {
      const n = leb();
      for (let k = 0; k < n; k++) {
        const module = str();
        const name = str();
        const kindByte = bytes[i++];
        const kind = KINDS[kindByte] ?? 'tag';
        if (kindByte === 0) {
          leb();
          imports.push({ module, name, kind });
        } else if (kindByte === 1) {
          i++; // reference type
          limits();
          imports.push({ module, name, kind });
        } else if (kindByte === 2) {
          imports.push({ module, name, kind, memory: limits() });
        } else if (kindByte === 3) {
          i += 2; // value type, mutability
          imports.push({ module, name, kind });
        } else {
          imports.push({ module, name, kind });
          break; // tags and newer kinds: nothing after them is needed
        }
      }
    } else if (id === 8) hasStart = true;
    i = end;
  }
  return { imports, hasStart };
}
