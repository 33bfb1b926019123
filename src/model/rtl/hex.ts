/**
 * Hexadecimal text of addresses and 32-bit values, from a table of byte digits. Number.prototype.toString(16) of a
 * value outside the small-integer range (every kernel VA) takes V8's slow double-to-radix path, ~0.3 µs a call, and
 * the record formats an address for every callback (issue 11).
 */
const UPPER: string[] = [];
const LOWER: string[] = [];
for (let i = 0; i < 256; i++) {
  LOWER.push(i.toString(16).padStart(2, '0'));
  UPPER.push(LOWER[i].toUpperCase());
}
const TWO32 = 0x1_0000_0000;

function digits8(v: number, t: readonly string[]): string {
  return t[v >>> 24] + t[(v >>> 16) & 0xff] + t[(v >>> 8) & 0xff] + t[v & 0xff];
}

/** A 32-bit value (taken as unsigned) as 8 hex digits, zero-padded: upper case unless `lower`. */
export function hex8(v: number, lower = false): string {
  return digits8(v >>> 0, lower ? LOWER : UPPER);
}

/** A 32-bit value (taken as unsigned) in hex without leading zeros ('0' for zero), as toString(16) gives it. */
export function hexDigits32(v: number, lower = false): string {
  const u = v >>> 0;
  const n = u === 0 ? 1 : 8 - (Math.clz32(u) >> 2);
  const all = digits8(u, lower ? LOWER : UPPER);
  return n === 8 ? all : all.slice(8 - n);
}

/** A non-negative integer below 2^53 in upper-case hex without leading zeros. */
export function hexUpper(value: number): string {
  if (value < TWO32) return hexDigits32(value);
  const hi = Math.floor(value / TWO32);
  return hexDigits32(hi) + digits8(value - hi * TWO32, UPPER);
}

/** A 16-bit high part and a 32-bit low part as 12 upper-case hex digits (an x64 VA below its sign extension). */
export function hex12(hi16: number, lo32: number): string {
  return UPPER[(hi16 >>> 8) & 0xff] + UPPER[hi16 & 0xff] + digits8(lo32 >>> 0, UPPER);
}
