/**
 * The kernel CRT's printf formatting (DbgPrint, _snprintf, RtlStringCbPrintfA...), reading string arguments from
 * kernel memory
 * ([DOC] wdm/nf-wdm-dbgprint.md; Microsoft CRT format specification for %s %S %ws %Z %wZ %p and size prefixes).
 *
 * Arguments arrive as varargs slots, as the caller's compiler would lay them out: 4-byte slots on x86
 * (64-bit integers take two), 8-byte slots on x64. A driver passes a `number` for an int, handle or pointer
 * (pointers are VAs, sign-extended on x64) and a `bigint` for an explicit 64-bit integer. So `%d` or `%x` given
 * a 64-bit pointer prints its low 32 bits (truncation), and `%s` given a UTF-16 buffer stops at the first 0x00
 * byte (one character for ASCII text), exactly as on a real kernel.
 */
import { hex8, hexDigits32 } from './hex.js';
import type { KernelMemory } from '../mm/memory.js';

export type DbgArg = number | bigint;


interface Spec {
  readonly literal: string;
  readonly flags: string;
  readonly width: number | '*' | null;
  readonly precision: number | '*' | null;
  readonly size: '' | 'h' | 'hh' | 'l' | 'll' | 'w' | 'I' | 'I32' | 'I64';
  readonly type: string;
}

type Piece = string | Spec;
const cache = new Map<string, Piece[]>();
const TWO32 = 0x1_0000_0000;

function parse(fmt: string): Piece[] {
  const hit = cache.get(fmt);
  if (hit !== undefined) return hit;
  const out: Piece[] = [];
  let lit = '';
  let i = 0;
  while (i < fmt.length) {
    const ch = fmt[i];
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    const start = i;
    i++;
    if (fmt[i] === '%') {
      lit += '%';
      i++;
      continue;
    }
    let flags = '';
    while (i < fmt.length && '-+ #0'.includes(fmt[i])) flags += fmt[i++];
    let width: number | '*' | null = null;
    if (fmt[i] === '*') {
      width = '*';
      i++;
    } else {
      let w = '';
      while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') w += fmt[i++];
      if (w !== '') width = Number(w);
    }
    let precision: number | '*' | null = null;
    if (fmt[i] === '.') {
      i++;
      if (fmt[i] === '*') {
        precision = '*';
        i++;
      } else {
        let p = '';
        while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') p += fmt[i++];
        precision = p === '' ? 0 : Number(p);
      }
    }
    let size: Spec['size'] = '';
    if (fmt.startsWith('I64', i)) { size = 'I64'; i += 3; }
    else if (fmt.startsWith('I32', i)) { size = 'I32'; i += 3; }
    else if (fmt[i] === 'I') { size = 'I'; i++; }
    else if (fmt.startsWith('ll', i)) { size = 'll'; i += 2; }
    else if (fmt.startsWith('hh', i)) { size = 'hh'; i += 2; }
    else if (fmt[i] === 'l' || fmt[i] === 'h' || fmt[i] === 'w') { size = fmt[i] as 'l' | 'h' | 'w'; i++; }
    const type = fmt[i] ?? '';
    i++;
    if (lit !== '') {
      out.push(lit);
      lit = '';
    }
    out.push({ literal: fmt.slice(start, i), flags, width, precision, size, type });
  }
  if (lit !== '') out.push(lit);
  if (cache.size >= 4096) cache.clear(); // a driver that prints its data as the format: bounded, not a leak
  cache.set(fmt, out);
  return out;
}

/**
 * The varargs slots of one call: low and high 32 bits each (high is 0 on x86). One instance serves every call
 * (formatting calls no driver code, so it never nests): `count` bounds what this call passed, and a slot past it
 * reads 0, as stack garbage would.
 */
class Slots {
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private count = 0;
  private next = 0;
  pointerSize: 4 | 8 = 4;

  reset(pointerSize: 4 | 8, args: readonly DbgArg[]): this {
    this.pointerSize = pointerSize;
    this.count = 0;
    this.next = 0;
    for (const a of args) {
      if (typeof a === 'bigint') {
        const u = BigInt.asUintN(64, a);
        const lo = Number(u & 0xffffffffn);
        const hi = Number(u >> 32n);
        if (pointerSize === 4) {
          this.push(lo, 0);
          this.push(hi, 0);
        } else this.push(lo, hi);
      } else if (pointerSize === 4) {
        this.push(a >>> 0, 0);
      } else if (a < 0) {
        this.push(a >>> 0, 0xffffffff); // an int sign-extended into its 8-byte slot
      } else {
        const lo = a % TWO32;
        let hi = Math.floor(a / TWO32);
        if (a >= 0x8000_0000_0000 && a < 0x1_0000_0000_0000) hi = (hi | 0xffff0000) >>> 0; // canonical kernel VA
        this.push(lo, hi);
      }
    }
    return this;
  }

  private push(lo: number, hi: number): void {
    this.lo[this.count] = lo;
    this.hi[this.count] = hi;
    this.count++;
  }

  private loAt(i: number): number {
    return i < this.count ? this.lo[i] : 0;
  }

  private hiAt(i: number): number {
    return i < this.count ? this.hi[i] : 0;
  }

  /** A 32-bit argument (int, char, or the low half of a wider slot). Missing arguments read as 0 (stack garbage). */
  u32(): number {
    const v = this.loAt(this.next);
    this.next++;
    return v;
  }

  /** A 64-bit argument: one slot on x64, two on x86. */
  u64(): bigint {
    let lo: number;
    let hi: number;
    if (this.pointerSize === 8) {
      lo = this.loAt(this.next);
      hi = this.hiAt(this.next);
      this.next++;
    } else {
      lo = this.loAt(this.next);
      hi = this.loAt(this.next + 1);
      this.next += 2;
    }
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A pointer-sized argument, as the 48-bit VA form the memory model uses. */
  pointer(): number {
    if (this.pointerSize === 4) return this.u32();
    const lo = this.loAt(this.next);
    const hi = this.hiAt(this.next);
    this.next++;
    if (hi >= 0xffff8000) return (hi & 0xffff) * TWO32 + lo;
    return hi * TWO32 + lo;
  }

  /** A pointer-sized argument in upper-case hex, padded to its width (%p), without a bigint. */
  pointerHex(): string {
    if (this.pointerSize === 4) return hex8(this.u32());
    const lo = this.loAt(this.next);
    const hi = this.hiAt(this.next);
    this.next++;
    return hex8(hi) + hex8(lo);
  }
}

const SLOTS = new Slots();

/** The debugger receives ANSI text: wide characters outside ASCII become '?' (RtlUnicodeToMultiByte default). */
function narrowAnsi(code: number): number {
  return code < 0x80 ? code : 0x3f;
}

/**
 * A string argument as the output receives it: the characters a driver's read covered (`KernelMemory.readUnits`),
 * narrowed for ANSI output. Made in one call from the array: appending one character at a time built a rope of
 * one-character strings per argument (the largest allocation of a callback, issue 11).
 */
function text(units: Uint16Array, narrow: boolean): string {
  if (narrow) for (let i = 0; i < units.length; i++) if (units[i] >= 0x80) units[i] = 0x3f; // narrowAnsi
  // fromCharCode.apply takes a typed array as its arguments (in chunks: an engine bounds the argument count)
  if (units.length <= 4096) return String.fromCharCode.apply(null, units as unknown as number[]);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode.apply(null, units.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

function readAnsiZ(mem: KernelMemory, va: number, max: number): string {
  return text(mem.readUnits(va, max, 1, true), false);
}

function readWideZ(mem: KernelMemory, va: number, max: number, narrow: boolean): string {
  return text(mem.readUnits(va, max, 2, true), narrow);
}

function readCounted(mem: KernelMemory, va: number, wide: boolean, max: number, narrow: boolean): string {
  // ANSI_STRING / UNICODE_STRING: USHORT Length (bytes), USHORT MaximumLength, PCHAR/PWCH Buffer (aligned).
  mem.check(va, mem.pointerSize === 8 ? 16 : 8, false);
  const length = mem.u16(va);
  const buffer = mem.ptr(va + (mem.pointerSize === 8 ? 8 : 4));
  if (buffer === 0) return '(null)';
  if (wide) return text(mem.readUnits(buffer, Math.min(length >>> 1, max), 2, false), narrow);
  return text(mem.readUnits(buffer, Math.min(length, max), 1, false), false);
}

/**
 * The formatted output as it is kept: at most `limit` characters of it, and its full length. A width or precision a
 * driver chose (`%268435456d`) adds to the length without being built: the work is bounded by what is kept.
 */
class Output {
  text = '';
  length = 0;
  private limit = 0;

  /** One instance serves every call, as SLOTS does (formatting calls no driver code, so it never nests). */
  reset(limit: number): this {
    this.text = '';
    this.length = 0;
    this.limit = limit;
    return this;
  }

  add(s: string): void {
    this.length += s.length;
    const room = this.limit - this.text.length;
    if (room > 0) this.text += s.length <= room ? s : s.slice(0, room);
  }

  repeat(ch: string, n: number): void {
    if (n <= 0) return;
    this.length += n;
    const room = this.limit - this.text.length;
    if (room > 0) this.text += ch.repeat(Math.min(n, room));
  }
}

/**
 * One conversion's output: `lead` (sign and radix prefix), `zeros` the precision asks for, then `digits` (or the
 * text of a non-numeric conversion), padded to `width` with spaces or, for a number with the '0' flag and no
 * precision, zeros after the lead.
 */
function emit(out: Output, spec: Spec, width: number, numeric: boolean, precisionGiven: boolean, lead: string, zeros: number, digits: string): void {
  const size = lead.length + zeros + digits.length;
  const fill = width - size;
  if (fill > 0 && !spec.flags.includes('-')) {
    if (numeric && spec.flags.includes('0') && !precisionGiven) {
      out.add(lead);
      out.repeat('0', fill + zeros);
      out.add(digits);
      return;
    }
    out.repeat(' ', fill);
  }
  out.add(lead);
  out.repeat('0', zeros);
  out.add(digits);
  if (fill > 0 && spec.flags.includes('-')) out.repeat(' ', fill);
}

/** Characters a formatted string keeps at most where the caller gives no bound (sprintf into a buffer of its own). */
export const PRINTF_UNBOUNDED_LIMIT = 1 << 22;

/**
 * The kernel CRT's printf formatting (DbgPrint, _snprintf, RtlStringCbPrintfA...), all of it. `wideFunction`: the
 * wide variants (swprintf, _snwprintf, RtlStringCbPrintfW), where `%s` and `%c` take wide arguments, `%S` and `%C`
 * narrow ones, and wide characters reach the output unchanged (Microsoft CRT format specification).
 */
export function formatPrintf(mem: KernelMemory, format: string, args: readonly DbgArg[], wideFunction: boolean): string {
  return formatBounded(mem, format, args, wideFunction, PRINTF_UNBOUNDED_LIMIT).text;
}

/** A formatted output: at most the caller's limit of characters, and the length the whole output would have had. */
export interface FormattedText {
  readonly text: string;
  readonly fullLength: number;
}

const OUTPUT = new Output();

/** formatPrintf keeping at most `limit` characters, with the length the whole output would have. */
export function formatBounded(mem: KernelMemory, format: string, args: readonly DbgArg[], wideFunction: boolean, limit: number): FormattedText {
  const slots = SLOTS.reset(mem.pointerSize, args);
  const narrow = !wideFunction; // ANSI output: wide characters outside ASCII become '?'
  const out = OUTPUT.reset(limit);
  const LIMIT = 4096; // longest read of one string argument
  for (const piece of parse(format)) {
    if (typeof piece === 'string') {
      out.add(piece);
      continue;
    }
    const spec = piece;
    let width = 0;
    if (spec.width === '*') {
      const w = slots.u32() | 0;
      width = Math.abs(w);
    } else if (spec.width !== null) width = spec.width;
    let precision: number | null = null;
    if (spec.precision === '*') precision = slots.u32() | 0;
    else precision = spec.precision;
    const wide64 = spec.size === 'll' || spec.size === 'I64' || (spec.size === 'I' && mem.pointerSize === 8);
    let lead = '';
    let zeros = 0;
    let body: string;
    let numeric = false;
    switch (spec.type) {
      case 'd':
      case 'i': {
        numeric = true;
        // a 32-bit argument is exact as a number; bigint only for 64-bit ones (it allocates)
        let negative: boolean;
        let digits: string;
        if (wide64) {
          const v = BigInt.asIntN(64, slots.u64());
          negative = v < 0n;
          digits = (negative ? -v : v).toString();
        } else {
          const raw = slots.u32();
          const v = spec.size === 'h' ? (raw << 16) >> 16 : spec.size === 'hh' ? (raw << 24) >> 24 : raw | 0;
          negative = v < 0;
          digits = Math.abs(v).toString();
        }
        if (precision !== null) zeros = Math.max(0, precision - digits.length);
        if (precision === 0 && digits === '0') digits = '';
        lead = negative ? '-' : spec.flags.includes('+') ? '+' : spec.flags.includes(' ') ? ' ' : '';
        body = digits;
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        numeric = true;
        const radix = spec.type === 'u' ? 10 : spec.type === 'o' ? 8 : 16;
        let digits: string;
        if (wide64) digits = slots.u64().toString(radix);
        else {
          const raw = slots.u32();
          const v = spec.size === 'h' ? raw & 0xffff : spec.size === 'hh' ? raw & 0xff : raw >>> 0;
          digits = radix === 16 ? hexDigits32(v, spec.type === 'x') : v.toString(radix);
        }
        const zero = digits === '0';
        if (spec.type === 'X' && wide64) digits = digits.toUpperCase(); // 32-bit digits come in their case
        if (precision !== null) zeros = Math.max(0, precision - digits.length);
        if (precision === 0 && zero) digits = '';
        if (spec.flags.includes('#') && !zero) {
          // the octal prefix '0' is one more leading zero (the zero fill goes before it: the same characters)
          if (spec.type === 'o') zeros++;
          else if (spec.type !== 'u') lead = spec.type === 'x' ? '0x' : '0X';
        }
        body = digits;
        break;
      }
      case 'p': {
        numeric = true;
        body = slots.pointerHex();
        if (spec.flags.includes('#')) lead = '0x';
        break;
      }
      case 'c':
      case 'C': {
        const raw = slots.u32();
        const wide = spec.size === 'w' || spec.size === 'l' || (spec.type === (wideFunction ? 'c' : 'C') && spec.size !== 'h');
        body = String.fromCharCode(wide ? (narrow ? narrowAnsi(raw & 0xffff) : raw & 0xffff) : raw & 0xff);
        break;
      }
      case 's':
      case 'S': {
        const p = slots.pointer();
        const wide = spec.size === 'w' || spec.size === 'l' || (spec.type === (wideFunction ? 's' : 'S') && spec.size !== 'h');
        const max = precision !== null && precision >= 0 ? precision : LIMIT;
        if (p === 0) body = '(null)';
        else body = wide ? readWideZ(mem, p, max, narrow) : readAnsiZ(mem, p, max);
        break;
      }
      case 'Z': {
        const p = slots.pointer();
        const max = precision !== null && precision >= 0 ? precision : LIMIT;
        body = p === 0 ? '(null)' : readCounted(mem, p, spec.size === 'w', max, narrow);
        break;
      }
      case 'n':
        slots.pointer(); // %n writes nothing here: the kernel's printf does not support it usefully
        body = '';
        break;
      default:
        // Unknown conversion (and floating point, which DbgPrint does not support): printed literally.
        body = spec.literal;
    }
    emit(out, spec, width, numeric, precision !== null, lead, zeros, body);
  }
  const text = out.text;
  out.text = ''; // the reused Output keeps no caller's string alive
  return { text, fullLength: out.length };
}

/**
 * The byte size of each varargs argument a format consumes, in order, as a compiler packs them by type: 4 for int
 * and char (and each `*` width or precision), 8 for 64-bit integers and doubles, the pointer size for pointers and
 * `%I` integers. A WebAssembly driver's DbgPrint passes a pointer to these (each aligned to its size), which the
 * loader reads with this; the x64 shim widens DbgPrint's arguments to 8-byte slots instead (one per entry).
 */
export function varargSlotSizes(format: string, pointerSize: 4 | 8 = 4): readonly (4 | 8)[] {
  // a driver prints the same few formats again and again: worked out once per format (bounded like parse's cache)
  const cache = pointerSize === 4 ? SLOT_SIZES_32 : SLOT_SIZES_64;
  let sizes = cache.get(format);
  if (sizes === undefined) {
    if (cache.size >= 4096) cache.clear();
    cache.set(format, (sizes = slotSizesOf(format, pointerSize)));
  }
  return sizes;
}

const SLOT_SIZES_32 = new Map<string, readonly (4 | 8)[]>();
const SLOT_SIZES_64 = new Map<string, readonly (4 | 8)[]>();

function slotSizesOf(format: string, pointerSize: 4 | 8): readonly (4 | 8)[] {
  const out: (4 | 8)[] = [];
  for (const piece of parse(format)) {
    if (typeof piece === 'string') continue;
    if (piece.width === '*') out.push(4);
    if (piece.precision === '*') out.push(4);
    const t = piece.type;
    if ('eEfgGaA'.includes(t) && t !== '') out.push(8);
    else if ('diuxXo'.includes(t) && t !== '') out.push(piece.size === 'll' || piece.size === 'I64' ? 8 : piece.size === 'I' ? pointerSize : 4);
    else if ('psSZn'.includes(t) && t !== '') out.push(pointerSize);
    else if ('cC'.includes(t) && t !== '') out.push(4);
  }
  return out;
}
