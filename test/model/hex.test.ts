/** src/model/hex.ts: the table-driven hex text equals Number.prototype.toString(16)'s, for every width it serves. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { hex12, hex8, hexDigits32, hexUpper } from '../../src/model/rtl/hex.js';

const u32 = fc.oneof(fc.constantFrom(0, 1, 0xf, 0x10, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat({ max: 0xffffffff }));

describe('hex text', () => {
  test('hex8: 8 digits, zero-padded, either case; any 32-bit value taken as unsigned', () => {
    fc.assert(fc.property(u32, (v) => {
      expect(hex8(v)).toBe(v.toString(16).toUpperCase().padStart(8, '0'));
      expect(hex8(v, true)).toBe(v.toString(16).padStart(8, '0'));
      expect(hex8(v | 0)).toBe(hex8(v)); // a signed int of the same bits
    }));
  });

  test('hexDigits32: no leading zeros, one 0 for zero', () => {
    fc.assert(fc.property(u32, (v) => {
      expect(hexDigits32(v)).toBe(v.toString(16).toUpperCase());
      expect(hexDigits32(v, true)).toBe(v.toString(16));
    }));
  });

  test('hexUpper: any integer below 2^53', () => {
    fc.assert(fc.property(fc.oneof(fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 47, 2 ** 48 - 1, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()), (v) => {
      expect(hexUpper(v)).toBe(v.toString(16).toUpperCase());
    }));
  });

  test('hex12: a 16-bit high part and a 32-bit low part', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffff }), u32, (hi, lo) => {
      expect(hex12(hi, lo)).toBe((hi * 2 ** 32 + lo).toString(16).toUpperCase().padStart(12, '0'));
    }));
  });
});
