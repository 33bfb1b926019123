/**
 * The run-time library's string and memory routines and the kernel CRT's printf family, as ntoskrnl implements
 * them for drivers ([DOC] wdm/nf-wdm-rtl*.md, ntstrsafe; the Microsoft CRT's _snprintf/swprintf contracts). Every
 * access goes through the kernel's checks on the driver's behalf, so an overrun of the driver's own buffer is
 * reported as the driver's. Strings the routines allocate are paged pool owned by the driver (its leak if never
 * freed) with the tag 'RtlS' (CHOICE: the tag is not documented).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi, RtlRoutines } from '../ddi.js';
import { allocatePaged } from '../ex/pool-ddis.js';
import { formatBounded, PRINTF_UNBOUNDED_LIMIT, type DbgArg, type FormattedText } from './printf.js';
import {
  STATUS_BUFFER_OVERFLOW,
  STATUS_BUFFER_TOO_SMALL,
  STATUS_INVALID_PARAMETER,
  STATUS_INVALID_PARAMETER_2,
  STATUS_NO_MEMORY,
  STATUS_SUCCESS,
  type NTSTATUS,
} from '../status.js';

export const RTL_STRING_TAG = 'RtlS';
/** NTSTRSAFE_MAX_CCH ([DOC] ntstrsafe.h): larger counts are STATUS_INVALID_PARAMETER. */
export const NTSTRSAFE_MAX_CCH = 2147483647;
const MAXUSHORT = 0xffff;


/** A counted string (UNICODE_STRING, ANSI_STRING): Length, MaximumLength (bytes), Buffer. */
interface Counted { readonly length: number; readonly maximum: number; readonly buffer: number }


/** The printf-family routines: their varargs are read like DbgPrint's (the loader packs them the same way). */
export const PRINTF_ROUTINES: ReadonlyMap<string, { readonly formatArg: number; readonly wide: boolean }> = new Map([
  ['sprintf', { formatArg: 1, wide: false }], ['_snprintf', { formatArg: 2, wide: false }],
  ['swprintf', { formatArg: 1, wide: true }], ['_snwprintf', { formatArg: 2, wide: true }],
  ['RtlStringCbPrintfA', { formatArg: 2, wide: false }], ['RtlStringCchPrintfA', { formatArg: 2, wide: false }],
  ['RtlStringCbPrintfW', { formatArg: 2, wide: true }], ['RtlStringCchPrintfW', { formatArg: 2, wide: true }],
]);

export type RtlStringDdis = Pick<Ddi, keyof RtlRoutines>;

export function rtlStringDdis(bind: DdiBinding): RtlStringDdis {
  /** UNICODE_STRING.Buffer's offset (and ANSI_STRING's). */
  const bufferAt = (): number => (bind.ps === 8 ? 8 : 4);
  const read = (s: number): Counted => {
    bind.mem.check(s, bufferAt() + bind.ps, false);
    return { length: bind.mem.u16(s), maximum: bind.mem.u16(s + 2), buffer: bind.mem.ptr(s + bufferAt()) };
  };
  const write = (s: number, v: Counted): void => {
    bind.mem.check(s, bufferAt() + bind.ps, true);
    bind.mem.setU16(s, v.length);
    bind.mem.setU16(s + 2, v.maximum);
    bind.mem.setPtr(s + bufferAt(), v.buffer);
  };
  const u8 = (va: number): number => { bind.mem.check(va, 1, false); return bind.mem.u8(va); };
  const u16 = (va: number): number => { bind.mem.check(va, 2, false); return bind.mem.u16(va); };
  const put8 = (va: number, b: number): void => { bind.mem.check(va, 1, true); bind.mem.setU8(va, b); };
  const put16 = (va: number, w: number): void => { bind.mem.check(va, 2, true); bind.mem.setU16(va, w); };
  const wideText = (s: Counted): string => {
    let t = '';
    for (let i = 0; i < s.length >>> 1; i++) t += String.fromCharCode(u16(s.buffer + 2 * i));
    return t;
  };
  const ansiText = (s: Counted): string => {
    let t = '';
    for (let i = 0; i < s.length; i++) t += String.fromCharCode(u8(s.buffer + i));
    return t;
  };
  const zLength = (va: number, wide: boolean): number => {
    let n = 0;
    while ((wide ? u16(va + 2 * n) : u8(va + n)) !== 0) n++;
    return n;
  };
  const cString = (va: number, wide: boolean): string => {
    let t = '';
    for (let n = 0; ; n++) {
      const ch = wide ? u16(va + 2 * n) : u8(va + n);
      if (ch === 0) return t;
      t += String.fromCharCode(ch);
    }
  };
  /** The first `count` characters of `text` into a buffer (wide, or narrowed with '?' past 0xFF); no NUL added. */
  const store = (dest: number, text: string, wide: boolean, count: number): void => {
    for (let i = 0; i < count; i++) {
      const ch = text.charCodeAt(i);
      if (wide) put16(dest + 2 * i, ch);
      else put8(dest + i, ch > 0xff ? 0x3f : ch);
    }
  };
  const initAnsi = (name: string) => (dest: number, src: number): void => {
    const n = src === 0 ? 0 : zLength(src, false);
    write(dest, { length: Math.min(n, MAXUSHORT - 1), maximum: src === 0 ? 0 : Math.min(n + 1, MAXUSHORT), buffer: src });
    bind.k.rec.log(name, [bind.k.ke.hex(dest), bind.k.ke.hex(src)]);
  };
  /**
   * A formatted string of the printf family: the format read as the routine reads it, the arguments as DbgPrint's;
   * at most `keep` characters of it are made (the destination's size, and never more than PRINTF_UNBOUNDED_LIMIT:
   * a store past any pool block faults long before), with the length the whole output would have.
   */
  const format = (fmt: number, wide: boolean, args: DbgArg[], keep: number): FormattedText =>
    formatBounded(bind.mem, cString(fmt, wide), args, wide, Math.min(Math.max(0, keep), PRINTF_UNBOUNDED_LIMIT));
  const countedPrintf = (name: string, wide: boolean) => (buffer: number, count: number, fmt: number, ...args: DbgArg[]): number => {
    const f = format(fmt, wide, args, count);
    const n = Math.min(f.fullLength, count);
    store(buffer, f.text, wide, Math.min(n, f.text.length));
    // len < count: NUL appended; len == count: no NUL, len returned; len > count: no NUL, a negative value
    if (f.fullLength < count) {
      if (wide) put16(buffer + 2 * n, 0);
      else put8(buffer + n, 0);
    }
    const r = f.fullLength <= count ? f.fullLength : -1;
    bind.k.rec.log(name, [bind.k.ke.hex(buffer), String(count)], undefined, String(r));
    return r;
  };
  const unboundedPrintf = (name: string, wide: boolean) => (buffer: number, fmt: number, ...args: DbgArg[]): number => {
    const f = format(fmt, wide, args, PRINTF_UNBOUNDED_LIMIT);
    store(buffer, f.text + '\0', wide, f.text.length + 1);
    bind.k.rec.log(name, [bind.k.ke.hex(buffer)], undefined, String(f.fullLength));
    return f.fullLength;
  };
  /** ntstrsafe's printf: `chars` is the destination's size in characters. */
  const safePrintf = (name: string, wide: boolean, inBytes: boolean) => (dest: number, size: number, fmt: number, ...args: DbgArg[]): NTSTATUS => {
    const chars = inBytes ? Math.floor(size / (wide ? 2 : 1)) : size;
    if (chars === 0 || chars > NTSTRSAFE_MAX_CCH) {
      bind.k.rec.log(name, [bind.k.ke.hex(dest), String(size)], STATUS_INVALID_PARAMETER);
      return STATUS_INVALID_PARAMETER;
    }
    const f = format(fmt, wide, args, chars - 1);
    const n = Math.min(f.fullLength, chars - 1, f.text.length);
    store(dest, f.text.slice(0, n) + '\0', wide, n + 1);
    const status = f.fullLength > chars - 1 ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
    bind.k.rec.log(name, [bind.k.ke.hex(dest), String(size)], status);
    return status;
  };
  /** ntstrsafe's CopyN: at most `limit` characters of Src (fewer at its NUL), always NUL-terminated. */
  const safeCopyN = (name: string, wide: boolean, inBytes: boolean) => (dest: number, size: number, src: number, count: number): NTSTATUS => {
    const unit = wide ? 2 : 1;
    const chars = inBytes ? Math.floor(size / unit) : size;
    const limit = inBytes ? Math.floor(count / unit) : count;
    if (chars === 0 || chars > NTSTRSAFE_MAX_CCH || limit > NTSTRSAFE_MAX_CCH) {
      bind.k.rec.log(name, [bind.k.ke.hex(dest), String(size)], STATUS_INVALID_PARAMETER);
      return STATUS_INVALID_PARAMETER;
    }
    let i = 0;
    for (; i < chars - 1 && i < limit; i++) {
      const ch = wide ? u16(src + 2 * i) : u8(src + i);
      if (ch === 0) break;
      if (wide) put16(dest + 2 * i, ch);
      else put8(dest + i, ch);
    }
    // truncated when the destination filled before the source (or its first `limit` characters) ended
    const truncated = i === chars - 1 && i < limit && (wide ? u16(src + 2 * i) : u8(src + i)) !== 0;
    if (wide) put16(dest + 2 * i, 0);
    else put8(dest + i, 0);
    const status = truncated ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
    bind.k.rec.log(name, [bind.k.ke.hex(dest), String(size), bind.k.ke.hex(src), String(count)], status);
    return status;
  };
  const freeString = (name: string) => (s: number): void => {
    const v = read(s);
    bind.k.rec.log(name, [bind.k.ke.hex(s)], undefined, bind.k.ke.hex(v.buffer));
    if (v.buffer !== 0) bind.ddi.ExFreePoolWithTag(v.buffer, '');
    write(s, { length: 0, maximum: 0, buffer: 0 });
  };
  const upcase = (ch: number): number => {
    const u = String.fromCharCode(ch).toUpperCase();
    return u.length === 1 ? u.charCodeAt(0) : ch;
  };
  return {
    RtlInitAnsiString: initAnsi('RtlInitAnsiString'),
    RtlInitString: initAnsi('RtlInitString'),
    RtlAnsiStringToUnicodeString: (dest, src, allocate) => {
      const s = read(src);
      const text = ansiText(s);
      const bytes = 2 * text.length;
      if (bytes + 2 > MAXUSHORT) {
        bind.k.rec.log('RtlAnsiStringToUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src)], STATUS_INVALID_PARAMETER_2);
        return STATUS_INVALID_PARAMETER_2;
      }
      let d: Counted;
      if (allocate) {
        const buffer = allocatePaged(bind, bytes + 2, RTL_STRING_TAG);
        if (buffer === 0) {
          bind.k.rec.log('RtlAnsiStringToUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), 'TRUE'], STATUS_NO_MEMORY);
          return STATUS_NO_MEMORY;
        }
        d = { length: bytes, maximum: bytes + 2, buffer };
      } else {
        const cur = read(dest);
        if (cur.maximum < bytes) {
          bind.k.rec.log('RtlAnsiStringToUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), 'FALSE'], STATUS_BUFFER_OVERFLOW);
          return STATUS_BUFFER_OVERFLOW;
        }
        d = { length: bytes, maximum: cur.maximum, buffer: cur.buffer };
      }
      store(d.buffer, text, true, text.length);
      if (d.maximum >= bytes + 2) put16(d.buffer + bytes, 0);
      write(dest, d);
      bind.k.rec.log('RtlAnsiStringToUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), allocate ? 'TRUE' : 'FALSE'], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    RtlUnicodeStringToAnsiString: (dest, src, allocate) => {
      const text = wideText(read(src));
      let d: Counted;
      let status: NTSTATUS = STATUS_SUCCESS;
      let n = text.length;
      if (allocate) {
        const buffer = allocatePaged(bind, n + 1, RTL_STRING_TAG);
        if (buffer === 0) {
          bind.k.rec.log('RtlUnicodeStringToAnsiString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), 'TRUE'], STATUS_NO_MEMORY);
          return STATUS_NO_MEMORY;
        }
        d = { length: n, maximum: n + 1, buffer };
      } else {
        const cur = read(dest);
        if (cur.maximum < n + 1) {
          // converts what fits, NUL-terminated, and says so ([DOC] RtlUnicodeStringToAnsiString)
          status = STATUS_BUFFER_OVERFLOW;
          n = Math.max(0, cur.maximum - 1);
        }
        d = { length: n, maximum: cur.maximum, buffer: cur.buffer };
      }
      if (d.maximum > 0) store(d.buffer, text.slice(0, n) + '\0', false, n + 1);
      write(dest, d);
      bind.k.rec.log('RtlUnicodeStringToAnsiString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), allocate ? 'TRUE' : 'FALSE'], status);
      return status;
    },
    RtlFreeAnsiString: freeString('RtlFreeAnsiString'),
    RtlFreeUnicodeString: freeString('RtlFreeUnicodeString'),
    RtlAppendUnicodeToString: (dest, src) => {
      const d = read(dest);
      const n = src === 0 ? 0 : zLength(src, true);
      if (d.length + 2 * n > d.maximum) {
        bind.k.rec.log('RtlAppendUnicodeToString', [bind.k.ke.hex(dest), bind.k.ke.hex(src)], STATUS_BUFFER_TOO_SMALL);
        return STATUS_BUFFER_TOO_SMALL;
      }
      for (let i = 0; i < n; i++) put16(d.buffer + d.length + 2 * i, u16(src + 2 * i));
      const length = d.length + 2 * n;
      if (length + 2 <= d.maximum) put16(d.buffer + length, 0);
      write(dest, { ...d, length });
      bind.k.rec.log('RtlAppendUnicodeToString', [bind.k.ke.hex(dest), bind.k.ke.hex(src)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    RtlAppendUnicodeStringToString: (dest, src) => {
      const d = read(dest);
      const s = read(src);
      if (d.length + s.length > d.maximum) {
        bind.k.rec.log('RtlAppendUnicodeStringToString', [bind.k.ke.hex(dest), bind.k.ke.hex(src)], STATUS_BUFFER_TOO_SMALL);
        return STATUS_BUFFER_TOO_SMALL;
      }
      const text = wideText(s);
      store(d.buffer + d.length, text, true, text.length);
      const length = d.length + s.length;
      if (length + 2 <= d.maximum) put16(d.buffer + length, 0);
      write(dest, { ...d, length });
      bind.k.rec.log('RtlAppendUnicodeStringToString', [bind.k.ke.hex(dest), bind.k.ke.hex(src)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    RtlPrefixUnicodeString: (a, b, ci) => {
      let x = wideText(read(a));
      let y = wideText(read(b));
      if (ci) {
        x = [...x].map((ch) => String.fromCharCode(upcase(ch.charCodeAt(0)))).join('');
        y = [...y].map((ch) => String.fromCharCode(upcase(ch.charCodeAt(0)))).join('');
      }
      return y.startsWith(x);
    },
    RtlUpcaseUnicodeString: (dest, src, allocate) => {
      const s = read(src);
      const text = wideText(s);
      let d: Counted;
      if (allocate) {
        const buffer = allocatePaged(bind, Math.max(s.length, 2), RTL_STRING_TAG);
        if (buffer === 0) {
          bind.k.rec.log('RtlUpcaseUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), 'TRUE'], STATUS_NO_MEMORY);
          return STATUS_NO_MEMORY;
        }
        d = { length: s.length, maximum: s.length, buffer };
      } else {
        const cur = read(dest);
        if (cur.maximum < s.length) {
          bind.k.rec.log('RtlUpcaseUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), 'FALSE'], STATUS_BUFFER_OVERFLOW);
          return STATUS_BUFFER_OVERFLOW;
        }
        d = { length: s.length, maximum: cur.maximum, buffer: cur.buffer };
      }
      for (let i = 0; i < text.length; i++) put16(d.buffer + 2 * i, upcase(text.charCodeAt(i)));
      write(dest, d);
      bind.k.rec.log('RtlUpcaseUnicodeString', [bind.k.ke.hex(dest), bind.k.ke.hex(src), allocate ? 'TRUE' : 'FALSE'], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    RtlIntegerToUnicodeString: (value, base, s) => {
      const b = base === 0 ? 10 : base;
      if (![2, 8, 10, 16].includes(b)) {
        bind.k.rec.log('RtlIntegerToUnicodeString', [String(value >>> 0), String(base)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const text = (value >>> 0).toString(b).toUpperCase();
      const d = read(s);
      if (d.maximum < 2 * text.length) {
        bind.k.rec.log('RtlIntegerToUnicodeString', [String(value >>> 0), String(base)], STATUS_BUFFER_OVERFLOW);
        return STATUS_BUFFER_OVERFLOW;
      }
      store(d.buffer, text, true, text.length);
      if (d.maximum >= 2 * text.length + 2) put16(d.buffer + 2 * text.length, 0);
      write(s, { ...d, length: 2 * text.length });
      bind.k.rec.log('RtlIntegerToUnicodeString', [String(value >>> 0), String(base)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    RtlUnicodeStringToInteger: (s, base, out) => {
      const text = wideText(read(s));
      let i = 0;
      while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
      let negative = false;
      if (text[i] === '-' || text[i] === '+') negative = text[i++] === '-';
      let b = base;
      if (b === 0) {
        b = 10;
        const prefix = text.slice(i, i + 2).toLowerCase();
        if (prefix === '0x') { b = 16; i += 2; } else if (prefix === '0o') { b = 8; i += 2; } else if (prefix === '0b') { b = 2; i += 2; }
      } else if (![2, 8, 10, 16].includes(b)) {
        bind.k.rec.log('RtlUnicodeStringToInteger', [bind.k.ke.hex(s), String(base)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      let v = 0;
      for (; i < text.length; i++) {
        const digit = Number.parseInt(text[i], 36);
        if (!(digit < b)) break; // the first character that is no digit of the base ends the number
        v = (Math.imul(v, b) + digit) >>> 0;
      }
      if (negative) v = (-v) >>> 0;
      bind.mem.check(out, 4, true);
      bind.mem.setU32(out, v);
      bind.k.rec.log('RtlUnicodeStringToInteger', [bind.k.ke.hex(s), String(base)], STATUS_SUCCESS, String(v | 0));
      return STATUS_SUCCESS;
    },
    RtlCompareMemory: (a, b, n) => {
      let i = 0;
      while (i < n && u8(a + i) === u8(b + i)) i++;
      return i;
    },
    sprintf: unboundedPrintf('sprintf', false),
    swprintf: unboundedPrintf('swprintf', true),
    _snprintf: countedPrintf('_snprintf', false),
    _snwprintf: countedPrintf('_snwprintf', true),
    RtlStringCbPrintfA: safePrintf('RtlStringCbPrintfA', false, true),
    RtlStringCchPrintfA: safePrintf('RtlStringCchPrintfA', false, false),
    RtlStringCbPrintfW: safePrintf('RtlStringCbPrintfW', true, true),
    RtlStringCchPrintfW: safePrintf('RtlStringCchPrintfW', true, false),
    RtlStringCbCopyNA: safeCopyN('RtlStringCbCopyNA', false, true),
    RtlStringCchCopyNA: safeCopyN('RtlStringCchCopyNA', false, false),
    RtlStringCbCopyNW: safeCopyN('RtlStringCbCopyNW', true, true),
    RtlStringCchCopyNW: safeCopyN('RtlStringCchCopyNW', true, false),
  };
}
