/**
 * The DWARF line table of a module clang built with -g (`.debug_line`, versions 4 and 5): code-section offsets
 * mapped to source lines. Enough of DWARF for coverage reports; nothing else of it is read.
 */
export interface LineRow {
  /** Offset in the module's code section (what wasm DWARF calls an address). */
  readonly address: number;
  readonly file: string;
  readonly line: number;
}

class Cursor {
  constructor(readonly b: Uint8Array, public i = 0) {}
  u8(): number { return this.b[this.i++]; }
  u16(): number { const v = this.b[this.i] | (this.b[this.i + 1] << 8); this.i += 2; return v; }
  u32(): number { const v = (this.b[this.i] | (this.b[this.i + 1] << 8) | (this.b[this.i + 2] << 16)) + this.b[this.i + 3] * 0x1000000; this.i += 4; return v; }
  uleb(): number {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = this.b[this.i++];
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
    }
  }
  sleb(): number {
    let r = 0;
    let shift = 0;
    let x: number;
    do {
      x = this.b[this.i++];
      r += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((x & 0x80) !== 0);
    return (x & 0x40) !== 0 ? r - 2 ** shift : r;
  }
  cstr(): string {
    const end = this.b.indexOf(0, this.i);
    const s = new TextDecoder().decode(this.b.subarray(this.i, end));
    this.i = end + 1;
    return s;
  }
}

const DW_FORM_string = 0x08;
const DW_FORM_line_strp = 0x1f;
const DW_FORM_strp = 0x0e;
const DW_FORM_udata = 0x0f;
const DW_FORM_data1 = 0x0b;
const DW_FORM_data2 = 0x05;
const DW_FORM_data4 = 0x06;
const DW_FORM_data8 = 0x07;
const DW_FORM_data16 = 0x1e;
const DW_FORM_block = 0x09;
const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;

function strAt(section: Uint8Array | undefined, offset: number): string {
  if (section === undefined) return '';
  const end = section.indexOf(0, offset);
  return new TextDecoder().decode(section.subarray(offset, end < 0 ? section.length : end));
}

/**
 * Every row of every line program in `.debug_line`. `fileTables`, when given, receives each program's file names by
 * its offset in the section (what a unit's DW_AT_stmt_list names; DW_AT_call_file indexes them).
 */
export function lineRows(debugLine: Uint8Array, debugLineStr?: Uint8Array, debugStr?: Uint8Array, fileTables?: Map<number, readonly string[]>): LineRow[] {
  const rows: LineRow[] = [];
  const c = new Cursor(debugLine);
  while (c.i < debugLine.length) {
    const unitOffset = c.i;
    const unitLength = c.u32();
    const unitEnd = c.i + unitLength;
    const version = c.u16();
    let addressSize = 4;
    if (version >= 5) {
      addressSize = c.u8();
      c.u8(); // segment selector size
    }
    const headerLength = c.u32();
    const programStart = c.i + headerLength;
    const minInst = c.u8();
    if (version >= 4) c.u8(); // maximum operations per instruction
    c.u8(); // default_is_stmt
    const lineBase = (c.u8() << 24) >> 24;
    const lineRange = c.u8();
    const opcodeBase = c.u8();
    const stdLengths: number[] = [];
    for (let k = 1; k < opcodeBase; k++) stdLengths.push(c.u8());
    const dirs: string[] = [];
    const files: string[] = [];
    if (version >= 5) {
      const readEntries = (): { path: string; dir: number }[] => {
        const formatCount = c.u8();
        const format: [number, number][] = [];
        for (let k = 0; k < formatCount; k++) format.push([c.uleb(), c.uleb()]);
        const count = c.uleb();
        const out: { path: string; dir: number }[] = [];
        for (let n = 0; n < count; n++) {
          let path = '';
          let dir = 0;
          for (const [type, form] of format) {
            let value: string | number = 0;
            if (form === DW_FORM_string) value = c.cstr();
            else if (form === DW_FORM_line_strp) value = strAt(debugLineStr, c.u32());
            else if (form === DW_FORM_strp) value = strAt(debugStr, c.u32());
            else if (form === DW_FORM_udata) value = c.uleb();
            else if (form === DW_FORM_data1) value = c.u8();
            else if (form === DW_FORM_data2) value = c.u16();
            else if (form === DW_FORM_data4) value = c.u32();
            else if (form === DW_FORM_data8) c.i += 8;
            else if (form === DW_FORM_data16) c.i += 16;
            else if (form === DW_FORM_block) c.i += c.uleb();
            else throw new Error(`unsupported DWARF form 0x${form.toString(16)} in .debug_line`);
            if (type === DW_LNCT_path) path = String(value);
            if (type === DW_LNCT_directory_index) dir = Number(value);
          }
          out.push({ path, dir });
        }
        return out;
      };
      for (const d of readEntries()) dirs.push(d.path);
      for (const f of readEntries()) files.push(f.path.startsWith('/') || dirs[f.dir] === undefined || dirs[f.dir] === '' ? f.path : `${dirs[f.dir]}/${f.path}`);
    } else {
      dirs.push('');
      for (let d = c.cstr(); d !== ''; d = c.cstr()) dirs.push(d);
      files.push('');
      for (let f = c.cstr(); f !== ''; f = c.cstr()) {
        const dir = c.uleb();
        c.uleb();
        c.uleb();
        files.push(dirs[dir] === undefined || dirs[dir] === '' ? f : `${dirs[dir]}/${f}`);
      }
    }
    fileTables?.set(unitOffset, files.map((f) => f.replace(/^\/drv\//, 'drv/')));
    c.i = programStart;
    let address = 0;
    let file = 1;
    let line = 1;
    const emit = (): void => {
      // `/drv/x.h`: a header a project reaches through `..`, included by its absolute path in the compile (compile.ts)
      rows.push({ address, file: (files[file] ?? `file#${file}`).replace(/^\/drv\//, 'drv/'), line });
    };
    while (c.i < unitEnd) {
      const op = c.u8();
      if (op >= opcodeBase) {
        const adj = op - opcodeBase;
        address += Math.floor(adj / lineRange) * minInst;
        line += lineBase + (adj % lineRange);
        emit();
      } else if (op === 0) {
        const len = c.uleb();
        const end = c.i + len;
        const sub = c.u8();
        if (sub === 1) {
          address = 0;
          file = 1;
          line = 1;
        } else if (sub === 2) {
          address = addressSize === 8 ? c.u32() + c.u32() * 2 ** 32 : c.u32();
        }
        c.i = end;
      } else if (op === 1) emit();
      else if (op === 2) address += c.uleb() * minInst;
      else if (op === 3) line += c.sleb();
      else if (op === 4) file = c.uleb();
      else if (op === 5) c.uleb();
      else if (op === 8) address += Math.floor((255 - opcodeBase) / lineRange) * minInst;
      else if (op === 9) address += c.u16();
      else if (op === 6 || op === 7 || op === 10 || op === 11) { /* flags */ }
      else for (let k = 0; k < (stdLengths[op - 1] ?? 0); k++) c.uleb();
    }
    c.i = unitEnd;
  }
  return rows;
}
