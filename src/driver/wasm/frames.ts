/**
 * The stack frames a C driver's DWARF describes (`.debug_info`, version 4, as clang writes it with -gdwarf-4): for
 * each function, the WebAssembly local that holds its frame base, and the arrays it keeps in the frame, with their
 * offsets from that base and their sizes. What the /GS padding check needs (instrument.ts, `gsPadding`): where the
 * frame's last buffer ends below its security cookie. Nothing else of DWARF is read; anything unexpected gives no
 * layout for that function (the check is then what clang's cookie alone gives), never an error.
 */
export interface FrameArray {
  readonly name: string;
  /** Bytes from the frame base (the value of the frame-base local after the prologue). */
  readonly offset: number;
  readonly size: number;
}

export interface FrameLayout {
  /** Index of the WebAssembly local that holds the frame base. */
  readonly frameLocal: number;
  readonly arrays: readonly FrameArray[];
}

const TAG = { compileUnit: 0x11, subprogram: 0x2e, variable: 0x34, arrayType: 0x01, subrangeType: 0x21, typedef: 0x16, const: 0x26, volatile: 0x35, pointer: 0x0f } as const;
const AT = { name: 0x03, byteSize: 0x0b, frameBase: 0x40, location: 0x02, type: 0x49, count: 0x37, upperBound: 0x2f, abstractOrigin: 0x31, specification: 0x47 } as const;
const DW_OP_fbreg = 0x91;
const DW_OP_WASM_location = 0xed;
const DW_OP_plus_uconst = 0x23;

interface Abbrev {
  readonly tag: number;
  readonly children: boolean;
  readonly attrs: readonly (readonly [number, number])[];
}

export interface Die {
  readonly offset: number;
  readonly tag: number;
  readonly attrs: Map<number, number | Uint8Array | string>;
  readonly children: Die[];
}

class Cursor {
  constructor(readonly b: Uint8Array, public i = 0) {}
  u8(): number { return this.b[this.i++] ?? 0; }
  u16(): number { const v = this.u8(); return v | (this.u8() << 8); }
  u32(): number { const v = this.u16(); return v + this.u16() * 0x10000; }
  uleb(): number {
    let r = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const x = this.u8();
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) break;
    }
    return r;
  }
  sleb(): number {
    let r = 0;
    let shift = 0;
    let x = 0;
    do {
      x = this.u8();
      r += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((x & 0x80) !== 0 && shift < 64);
    return (x & 0x40) !== 0 ? r - 2 ** shift : r;
  }
  bytes(n: number): Uint8Array { const v = this.b.subarray(this.i, this.i + n); this.i += n; return v; }
  cstr(): string {
    const end = this.b.indexOf(0, this.i);
    const s = new TextDecoder().decode(this.b.subarray(this.i, end < 0 ? this.b.length : end));
    this.i = end < 0 ? this.b.length : end + 1;
    return s;
  }
}

function abbrevTable(section: Uint8Array, offset: number): Map<number, Abbrev> {
  const table = new Map<number, Abbrev>();
  const c = new Cursor(section, offset);
  for (;;) {
    const code = c.uleb();
    if (code === 0 || c.i >= section.length) return table;
    const tag = c.uleb();
    const children = c.u8() !== 0;
    const attrs: [number, number][] = [];
    for (;;) {
      const at = c.uleb();
      const form = c.uleb();
      if (at === 0 && form === 0) break;
      attrs.push([at, form]);
    }
    table.set(code, { tag, children, attrs });
  }
}

/** One attribute value: a number (constants, references as section offsets, strings' offsets resolved), bytes (blocks, expressions) or a string. */
function readForm(c: Cursor, form: number, unitStart: number, addressSize: number, str: Uint8Array | undefined): number | Uint8Array | string {
  switch (form) {
    case 0x01: return addressSize === 8 ? c.u32() + c.u32() * 2 ** 32 : c.u32(); // addr
    case 0x03: return c.bytes(c.u16()); // block2
    case 0x04: return c.bytes(c.u32()); // block4
    case 0x05: return c.u16(); // data2
    case 0x06: return c.u32(); // data4
    case 0x07: return c.u32() + c.u32() * 2 ** 32; // data8
    case 0x08: return c.cstr(); // string
    case 0x09: return c.bytes(c.uleb()); // block
    case 0x0a: return c.bytes(c.u8()); // block1
    case 0x0b: return c.u8(); // data1
    case 0x0c: return c.u8(); // flag
    case 0x0d: return c.sleb(); // sdata
    case 0x0e: { // strp
      const at = c.u32();
      if (str === undefined) return '';
      const end = str.indexOf(0, at);
      return new TextDecoder().decode(str.subarray(at, end < 0 ? str.length : end));
    }
    case 0x0f: return c.uleb(); // udata
    case 0x10: return c.u32(); // ref_addr (section offset)
    case 0x11: return unitStart + c.u8(); // ref1
    case 0x12: return unitStart + c.u16(); // ref2
    case 0x13: return unitStart + c.u32(); // ref4
    case 0x14: return unitStart + c.u32() + c.u32() * 2 ** 32; // ref8
    case 0x15: return unitStart + c.uleb(); // ref_udata
    case 0x16: return readForm(c, c.uleb(), unitStart, addressSize, str); // indirect
    case 0x17: return c.u32(); // sec_offset
    case 0x18: return c.bytes(c.uleb()); // exprloc
    case 0x19: return 1; // flag_present
    case 0x20: c.i += 8; return 0; // ref_sig8
    default: throw new Error(`DWARF form 0x${form.toString(16)}`);
  }
}

/** Every DIE of `.debug_info`, as trees per unit, and an index by section offset. */
export function readDies(info: Uint8Array, abbrev: Uint8Array, str: Uint8Array | undefined): { units: Die[]; byOffset: Map<number, Die>; addressSize: number } {
  const units: Die[] = [];
  const byOffset = new Map<number, Die>();
  let addressSize = 4;
  const c = new Cursor(info);
  while (c.i + 11 <= info.length) {
    const unitStart = c.i;
    const length = c.u32();
    if (length === 0xffffffff) throw new Error('64-bit DWARF');
    const unitEnd = c.i + length;
    const version = c.u16();
    if (version !== 4) throw new Error(`DWARF version ${version}`);
    const table = abbrevTable(abbrev, c.u32());
    addressSize = c.u8();
    const stack: Die[] = [];
    while (c.i < unitEnd) {
      const offset = c.i;
      const code = c.uleb();
      if (code === 0) {
        stack.pop();
        continue;
      }
      const a = table.get(code);
      if (a === undefined) throw new Error(`DWARF abbreviation ${code}`);
      const die: Die = { offset, tag: a.tag, attrs: new Map(), children: [] };
      for (const [at, form] of a.attrs) die.attrs.set(at, readForm(c, form, unitStart, addressSize, str));
      byOffset.set(offset, die);
      if (stack.length === 0) units.push(die);
      else stack[stack.length - 1].children.push(die);
      if (a.children) stack.push(die);
    }
    c.i = unitEnd;
  }
  return { units, byOffset, addressSize };
}

/** The frame-base local of a DW_AT_frame_base expression `DW_OP_WASM_location 0x0 <local>` (else undefined). */
function frameLocal(expr: unknown): number | undefined {
  if (!(expr instanceof Uint8Array) || expr[0] !== DW_OP_WASM_location || expr[1] !== 0x00) return undefined;
  return new Cursor(expr, 2).uleb();
}

/**
 * The frame offset a DW_AT_location expression names: exactly `DW_OP_fbreg <offset>`, or the frame-base local plus a
 * constant (`DW_OP_WASM_location 0x0 <local> DW_OP_plus_uconst <offset>`, what clang writes inside location lists).
 */
function fbreg(expr: unknown, local?: number): number | undefined {
  if (!(expr instanceof Uint8Array)) return undefined;
  const c = new Cursor(expr, 1);
  if (expr[0] === DW_OP_fbreg) {
    const v = c.sleb();
    return c.i === expr.length ? v : undefined;
  }
  if (expr[0] !== DW_OP_WASM_location || expr[1] !== 0x00 || local === undefined) return undefined;
  c.i = 2;
  if (c.uleb() !== local) return undefined;
  if (c.i === expr.length) return 0;
  if (c.u8() !== DW_OP_plus_uconst) return undefined;
  const v = c.uleb();
  return c.i === expr.length ? v : undefined;
}

/**
 * The frame offset of a variable whose DW_AT_location is a location list (`.debug_loc`, DWARF 4: address pairs, a
 * 2-byte length and an expression; 0, 0 ends it): at -O2 clang describes even a frame slot this way, valid over the
 * code where the variable lives, with other entries where its bytes are known constants (DW_OP_piece). A slot does
 * not move: every entry that names a frame offset must name the same one.
 */
function fbregList(loc: Uint8Array | undefined, offset: number, addressSize: number, local: number): number | undefined {
  if (loc === undefined) return undefined;
  const c = new Cursor(loc, offset);
  const addr = (): number => (addressSize === 8 ? c.u32() + c.u32() * 2 ** 32 : c.u32());
  let found: number | undefined;
  for (let n = 0; n < 1000 && c.i < loc.length; n++) {
    const begin = addr();
    const end = addr();
    if (begin === 0 && end === 0) return found;
    if (begin === (addressSize === 8 ? 2 ** 64 - 1 : 0xffffffff)) continue; // base address selection
    const v = fbreg(c.bytes(c.u16()), local);
    if (v === undefined) continue;
    if (found !== undefined && found !== v) return undefined;
    found = v;
  }
  return undefined;
}

/**
 * The frame layouts of a module's functions, by name, from its `.debug_info`, `.debug_abbrev` and `.debug_str`
 * (empty when it has no DWARF or DWARF this reader does not take).
 */
export function frameLayouts(sections: ReadonlyMap<string, Uint8Array>): Map<string, FrameLayout> {
  const out = new Map<string, FrameLayout>();
  const info = sections.get('.debug_info');
  const abbrev = sections.get('.debug_abbrev');
  if (info === undefined || abbrev === undefined) return out;
  let dies: ReturnType<typeof readDies>;
  try {
    dies = readDies(info, abbrev, sections.get('.debug_str'));
  } catch {
    return out;
  }
  const { byOffset, addressSize } = dies;
  const attr = (d: Die, at: number): number | Uint8Array | string | undefined => {
    let cur: Die | undefined = d;
    for (let hops = 0; cur !== undefined && hops < 8; hops++) {
      const v = cur.attrs.get(at);
      if (v !== undefined) return v;
      const next: number | Uint8Array | string | undefined = cur.attrs.get(AT.abstractOrigin) ?? cur.attrs.get(AT.specification);
      cur = typeof next === 'number' ? byOffset.get(next) : undefined;
    }
    return undefined;
  };
  /** Bytes of a type (typedefs, const and volatile followed), or undefined. */
  const sizeOf = (ref: unknown, depth = 0): number | undefined => {
    const t = typeof ref === 'number' ? byOffset.get(ref) : undefined;
    if (t === undefined || depth > 16) return undefined;
    if (t.tag === TAG.typedef || t.tag === TAG.const || t.tag === TAG.volatile) return sizeOf(t.attrs.get(AT.type), depth + 1);
    if (t.tag === TAG.pointer) return typeof t.attrs.get(AT.byteSize) === 'number' ? t.attrs.get(AT.byteSize) as number : addressSize;
    if (t.tag === TAG.arrayType) {
      let n = sizeOf(t.attrs.get(AT.type), depth + 1);
      for (const s of t.children) {
        if (s.tag !== TAG.subrangeType || n === undefined) continue;
        const count = s.attrs.get(AT.count);
        const upper = s.attrs.get(AT.upperBound);
        n = typeof count === 'number' ? n * count : typeof upper === 'number' ? n * (upper + 1) : undefined;
      }
      return n;
    }
    const b = t.attrs.get(AT.byteSize);
    return typeof b === 'number' ? b : undefined;
  };
  const isArray = (ref: unknown, depth = 0): boolean => {
    const t = typeof ref === 'number' ? byOffset.get(ref) : undefined;
    if (t === undefined || depth > 16) return false;
    if (t.tag === TAG.typedef || t.tag === TAG.const || t.tag === TAG.volatile) return isArray(t.attrs.get(AT.type), depth + 1);
    return t.tag === TAG.arrayType;
  };
  const visit = (d: Die): void => {
    if (d.tag === TAG.subprogram) {
      const name = attr(d, AT.name);
      const local = frameLocal(d.attrs.get(AT.frameBase));
      if (typeof name === 'string' && local !== undefined) {
        const arrays: FrameArray[] = [];
        const collect = (x: Die): void => {
          for (const v of x.children) {
            if (v.tag === TAG.subprogram) continue; // a nested function has its own frame
            if (v.tag === TAG.variable) {
              const location = v.attrs.get(AT.location);
              const offset = typeof location === 'number' ? fbregList(sections.get('.debug_loc'), location, addressSize, local) : fbreg(location, local);
              const type = attr(v, AT.type);
              const size = sizeOf(type);
              if (offset !== undefined && size !== undefined && size > 0 && isArray(type)) arrays.push({ name: String(attr(v, AT.name) ?? '?'), offset, size });
            }
            collect(v); // lexical blocks, inlined subroutines (their locals live in this frame)
          }
        };
        collect(d);
        out.set(name, { frameLocal: local, arrays });
      }
    }
    for (const c of d.children) if (c.tag !== TAG.subprogram || d.tag === TAG.compileUnit) visit(c);
  };
  try {
    for (const u of dies.units) visit(u);
  } catch {
    return new Map(); // DIEs nested past the call stack: a module built by hand, not by clang
  }
  return out;
}
