/**
 * KernelMemory.readUnits: a driver's read of a string (what DbgPrint's %s, %ws and %wZ read) checks every character
 * as a load of its own, in order, as `check` does — its fast path must not skip a fault or move it.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { formatDbgPrint } from '../../src/model/dbg/debugger.js';
import { formatBounded, formatPrintf } from '../../src/model/rtl/printf.js';
import { KernelMemory, REDZONE } from '../../src/model/mm/memory.js';

const BASE = 0x8000_0000;

/** The reads `check` reports to the verifier, recorded instead of bug-checking. */
function recording(mem: KernelMemory): string[] {
  const seen: string[] = [];
  mem.violation = (va, len, write) => {
    seen.push(`${(va - BASE).toString(16)}/${len}/${write ? 'w' : 'r'}`);
  };
  return seen;
}

describe('KernelMemory.readUnits', () => {
  test('a NUL-terminated wide string in kernel memory: its characters, no check fires', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(64, 'Test', 'kernel');
    mem.setWide(va, 'notepad.exe\0tail');
    const seen = recording(mem);
    expect(String.fromCharCode(...mem.readUnits(va, 4096, 2, true))).toBe('notepad.exe');
    expect(String.fromCharCode(...mem.readUnits(va, 3, 2, true))).toBe('not');
    expect(String.fromCharCode(...mem.readUnits(va, 16, 2, false))).toBe('notepad.exe\0tail'); // counted: through the NUL
    expect(seen).toEqual([]);
  });

  test('an unterminated string in driver pool runs into the guard bytes: each one reported where check reports it', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(8, 'Test', 'drv', { zeroed: true });
    mem.setBytes(va, [0x41, 0, 0x42, 0, 0x43, 0, 0x44, 0]); // "ABCD", no NUL: the block's 16-byte slot is guard after it
    const seen = recording(mem);
    const units = mem.readUnits(va, 6, 2, false);
    expect(units.length).toBe(6);
    const offset = va - BASE;
    expect(seen).toEqual([`${(offset + 8).toString(16)}/2/r`, `${(offset + 10).toString(16)}/2/r`]);
    // the same reads, through check one character at a time
    const byCheck = new KernelMemory(BASE, 4, 2);
    const vb = byCheck.alloc(8, 'Test', 'drv', { zeroed: true });
    const seenByCheck = recording(byCheck);
    for (let i = 0; i < 6; i++) byCheck.check(vb + 2 * i, 2, false);
    expect(seenByCheck).toEqual(seen);
  });

  test('a fault ends the read where the CPU would: the characters before it were read, none after', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(4, 'Test', 'drv', { zeroed: true });
    mem.setBytes(va, [0x61, 0x62, 0x63, 0x64]);
    let faults = 0;
    mem.violation = () => {
      faults++;
      throw new Error('fault');
    };
    expect(() => mem.readUnits(va, 100, 1, true)).toThrow('fault');
    expect(faults).toBe(1);
    expect(String.fromCharCode(...mem.readUnits(va, 4, 1, true))).toBe('abcd');
    expect(faults).toBe(1);
    expect(() => mem.readUnits(va - REDZONE + 15, 2, 1, false)).toThrow('fault'); // the last guard byte before it
  });

  test('an x64 WebAssembly image below the kernel: its own addresses and the kernel\'s both read', () => {
    const kernelBase = 0xffff_8000_0000_0000 % 2 ** 48;
    const mem = new KernelMemory(kernelBase, 8, 4, 0x4000, 0x4000);
    const inImage = 0x2000;
    mem.setWide(inImage, 'image\0');
    const inKernel = mem.alloc(32, 'Test', 'kernel');
    mem.setWide(inKernel, 'kernel\0');
    const seen = recording(mem);
    expect(String.fromCharCode(...mem.readUnits(inImage, 64, 2, true))).toBe('image');
    expect(String.fromCharCode(...mem.readUnits(inKernel, 64, 2, true))).toBe('kernel');
    expect(seen).toEqual([]);
    // a read from the image's last character on runs off its end (the kernel's alias of those addresses is unmapped)
    mem.setWide(0x3ffe, 'x');
    expect(String.fromCharCode(...mem.readUnits(0x3ffe, 1, 2, false))).toBe('x');
    mem.violation = (va) => {
      throw new Error(`fault at ${va.toString(16)}`);
    };
    expect(() => mem.readUnits(0x3ffe, 2, 2, false)).toThrow('fault at 4000');
  });

  test('a huge limit costs only what is read: %.99999999999s of a short string (hostile input)', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(16, 'Test', 'kernel');
    mem.setBytes(va, [0x68, 0x69, 0]);
    expect(formatPrintf(mem, '[%.99999999999s]', [va], false)).toBe('[hi]');
    expect(mem.readUnits(va, 2 ** 40, 1, true).length).toBe(2);
  });

  test('a read longer than the scratch array grows it', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(2 * 6000, 'Test', 'kernel');
    mem.fill(va, 2 * 6000, 0x20);
    const units = mem.readUnits(va, 6000, 2, false);
    expect(units.length).toBe(6000);
    expect(units.every((c) => c === 0x2020)).toBe(true);
  });

  test('what DbgPrint makes of it: ANSI output narrows non-ASCII characters, wide output keeps them, long strings whole', () => {
    const mem = new KernelMemory(BASE, 4, 2);
    const va = mem.alloc(64, 'Test', 'kernel');
    mem.setWide(va, 'caf\u00e9 \u{1F600}\0');
    expect(formatPrintf(mem, '[%ws]', [va], false)).toBe('[caf? ??]');
    expect(formatPrintf(mem, '[%s]', [va], true)).toBe('[caf\u00e9 \u{1F600}]');
    const long = mem.alloc(2 * 9000, 'Test', 'kernel');
    mem.setWide(long, 'ab'.repeat(4500));
    const out = formatPrintf(mem, '%.9000ws', [long], false);
    expect(out.length).toBe(9000);
    expect(out).toBe('ab'.repeat(4500));
  });
});

describe('printf keeps only what it is asked to keep', () => {
  const conversions = ['d', 'i', 'u', 'x', 'X', 'o', 'p', 'c', 's', 'I64d', 'llx', 'hd', 'hhu', 'q'];
  const spec = fc.record({
    flags: fc.subarray(['-', '+', ' ', '#', '0']).map((f) => f.join('')),
    width: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    precision: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    type: fc.constantFrom(...conversions),
  }).map((s) => `%${s.flags}${s.width ?? ''}${s.precision === undefined ? '' : `.${s.precision}`}${s.type}`);

  test('the kept text is the start of the whole output and the length is the whole output\'s, at any limit', () => {
    const mem = new KernelMemory(0x80000000, 4, 1);
    const str = mem.alloc(16, 'test', 'driver');
    mem.setBytes(str, new TextEncoder().encode('hello\0'));
    fc.assert(fc.property(fc.array(fc.oneof(spec, fc.constantFrom('ab', ' ', '|')), { maxLength: 6 }), fc.integer({ min: 0, max: 80 }), (pieces, limit) => {
      const format = pieces.join('');
      const args = pieces.map(() => str);
      const whole = formatPrintf(mem, format, args, false);
      const kept = formatBounded(mem, format, args, false, limit);
      expect(kept.text).toBe(whole.slice(0, limit));
      expect(kept.fullLength).toBe(whole.length);
    }));
  });

  test('a width or precision of 2^28 or 2^31 costs what is kept, not what it would print', () => {
    const mem = new KernelMemory(0x80000000, 4, 1);
    const started = performance.now();
    const r = formatBounded(mem, 'pid=%268435456d|%.*d|%-2147483647s|%0268435456u', [4, 0x7fffffff, 1, 0, 7], false, 512);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.text).toHaveLength(512);
    expect(r.text.startsWith('pid=' + ' '.repeat(500))).toBe(true);
    expect(r.fullLength).toBe(4 + 268435456 + 1 + 2147483647 + 1 + 2147483647 + 1 + 268435456);
    expect(formatDbgPrint(mem, '%268435456d\n', [4]).fullLength).toBe(268435457);
  });
});
