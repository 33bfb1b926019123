import { describe, expect, test } from 'vitest';
import { getBuild, Kernel, KernelHalted, PROFILES, type Ddi, type DriverImage, type RunRecord } from '../../src/model/index.js';

/**
 * The WDK surface's error paths from a TypeScript driver (the C tests in test/wasm/ddis.test.ts cover the
 * documented results): each routine's failure statuses and the bug checks and hangs a misuse leads to.
 */
type Body = (ddi: Ddi, out: unknown[]) => void;
function run(body: Body, build = 'win10-x64', faults: { ddi: string; nth: number; status: number }[] = []): { out: unknown[]; record: RunRecord } {
  const out: unknown[] = [];
  const driver: DriverImage = {
    name: 'surface', imports: [],
    instantiate: () => ({ DriverEntry(ddi) { body(ddi, out); return 0; } }),
  };
  const k = new Kernel({ build: getBuild(build), profile: PROFILES.documented, reusePolicy: 'nt52', driver, faults });
  try {
    k.loadDriver();
  } catch (e) {
    if (!(e instanceof KernelHalted)) throw e;
  }
  return { out, record: k.finish() };
}
/** Zeroed pool (ExAllocatePool2 is 2004+ only). */
function zalloc(ddi: Ddi, n: number): number {
  const p = ddi.ExAllocatePoolWithTag(0, n, 'Test');
  ddi.RtlZeroMemory(p, n);
  return p;
}
/** A counted string in pool: its text (wide or narrow), Length, MaximumLength. */
function counted(ddi: Ddi, text: string, wide: boolean, maximum?: number): number {
  const ps = ddi.pointerSize;
  const bytes = text.length * (wide ? 2 : 1);
  const max = maximum ?? bytes + (wide ? 2 : 1);
  const s = zalloc(ddi, 2 * ps + Math.max(max, 2));
  const buf = s + 2 * ps;
  for (let i = 0; i < text.length; i++) (wide ? ddi.WRITE_USHORT(buf + 2 * i, text.charCodeAt(i)) : ddi.WRITE_UCHAR(buf + i, text.charCodeAt(i)));
  ddi.WRITE_USHORT(s, bytes);
  ddi.WRITE_USHORT(s + 2, max);
  ddi.WRITE_POINTER(s + ddi.UNICODE_STRING.Buffer, buf);
  return s;
}
const text = (ddi: Ddi, s: number, wide: boolean): string => {
  const n = ddi.READ_USHORT(s);
  const buf = ddi.READ_POINTER(s + ddi.UNICODE_STRING.Buffer);
  let t = '';
  for (let i = 0; i < (wide ? n / 2 : n); i++) t += String.fromCharCode(wide ? ddi.READ_USHORT(buf + 2 * i) : ddi.READ_UCHAR(buf + i));
  return t;
};

describe('Rtl strings: the non-allocating forms and their statuses', () => {
  test.each(['win10-x64', 'winxp-x86'])('%s', (build) => {
    const { out, record } = run((ddi, o) => {
      const ansi = counted(ddi, 'abc', false);
      const small = counted(ddi, '', true, 4);
      const roomy = counted(ddi, '', true, 16);
      o.push(ddi.RtlAnsiStringToUnicodeString(small, ansi, false), ddi.RtlAnsiStringToUnicodeString(roomy, ansi, false), text(ddi, roomy, true));
      const wide = counted(ddi, 'héllo', true);
      const narrow = counted(ddi, '', false, 4);
      o.push(ddi.RtlUnicodeStringToAnsiString(narrow, wide, false), text(ddi, narrow, false));
      o.push(ddi.RtlUpcaseUnicodeString(small, wide, false), ddi.RtlUpcaseUnicodeString(roomy, wide, false), text(ddi, roomy, true));
      const num = counted(ddi, '', true, 64);
      for (const [v, base] of [[5, 2], [8, 8], [255, 16], [7, 0]] as const) {
        ddi.RtlIntegerToUnicodeString(v, base, num);
        o.push(text(ddi, num, true));
      }
      const parse = (s: string, base: number): unknown => {
        const p = zalloc(ddi, 4);
        const st = ddi.RtlUnicodeStringToInteger(counted(ddi, s, true), base, p);
        return st === 0 ? ddi.READ_ULONG(p) | 0 : st >>> 0;
      };
      o.push(parse('+42', 10), parse('0b101', 0), parse('0o17', 0), parse('ff', 16), parse('12z', 10), parse('1', 3));
      const dst = counted(ddi, '', true, 8);
      o.push(ddi.RtlAppendUnicodeToString(dst, 0) >>> 0, ddi.RtlAppendUnicodeStringToString(dst, counted(ddi, 'toolong', true)) >>> 0);
      const init = zalloc(ddi, 2 * ddi.pointerSize);
      ddi.RtlInitString(init, 0);
      o.push(ddi.READ_USHORT(init), ddi.READ_USHORT(init + 2));
      o.push(ddi.RtlPrefixUnicodeString(counted(ddi, 'AB', true), counted(ddi, 'abc', true), true));
    }, build);
    expect(record.bugCheck).toBeNull();
    expect(out).toEqual([
      0x80000005, 0, 'abc', // too small for the conversion: STATUS_BUFFER_OVERFLOW
      0x80000005, 'hél', // what fits, NUL-terminated (é is 0xE9 in the ANSI code page too)
      0x80000005, 0, 'HÉLLO',
      '101', '10', 'FF', '7',
      42, 5, 15, 255, 12, 0xc000000d, // stops at the first non-digit; base 3 is refused
      0, 0xc0000023, // a NULL source appends nothing; too long: STATUS_BUFFER_TOO_SMALL
      0, 0, true,
    ]);
  });

  test('printf family: zero or oversized destinations, wide truncation with _snwprintf', () => {
    const { out } = run((ddi, o) => {
      const fmt = zalloc(ddi, 16);
      for (let i = 0; i < 3; i++) ddi.WRITE_USHORT(fmt + 2 * i, 'abc'.charCodeAt(i));
      const buf = zalloc(ddi, 32);
      o.push(ddi.RtlStringCchPrintfW(buf, 0, fmt) >>> 0, ddi.RtlStringCbPrintfW(buf, 0x1_0000_0000, fmt) >>> 0);
      o.push(ddi._snwprintf(buf, 3, fmt), ddi._snwprintf(buf, 8, fmt), ddi.READ_USHORT(buf + 6));
      o.push(ddi.RtlStringCchCopyNA(buf, 8, fmt, 0x1_0000_0000) >>> 0);
    });
    expect(out).toEqual([0xc000000d, 0xc000000d, 3, 3, 0, 0xc000000d]);
  });
});

describe('Ke/Ex: waits, resources, lookaside lists, push locks, rundown and raises', () => {
  test('absolute timeouts and delays move the clock to the deadline', () => {
    const { out } = run((ddi, o) => {
      const ev = zalloc(ddi, 32);
      ddi.KeInitializeEvent(ev, 0, false);
      const t = zalloc(ddi, 16);
      ddi.KeQuerySystemTime(t);
      const now = (BigInt(ddi.READ_ULONG(t + 4)) << 32n) | BigInt(ddi.READ_ULONG(t));
      const deadline = now + 5_000_000n;
      ddi.WRITE_ULONG(t + 8, Number(deadline & 0xffff_ffffn));
      ddi.WRITE_ULONG(t + 12, Number(deadline >> 32n));
      o.push(ddi.KeWaitForSingleObject(ev, 0, 0, false, t + 8) >>> 0);
      ddi.KeQuerySystemTime(t);
      const after = (BigInt(ddi.READ_ULONG(t + 4)) << 32n) | BigInt(ddi.READ_ULONG(t));
      o.push(after >= deadline);
      o.push(ddi.KeDelayExecutionThread(0, false, t + 8) >>> 0, ddi.KeQueryPerformanceCounter(0) > 0n);
    });
    expect(out).toEqual([0x102, true, 0, true]);
  });

  test.each([
    ['an ERESOURCE never initialised', (ddi: Ddi) => { ddi.ExAcquireResourceExclusiveLite(zalloc(ddi, 0x68), true); }, 0x1e, /never initialised with ExInitializeResourceLite/],
    ['a lookaside list never initialised', (ddi: Ddi) => { ddi.ExAllocateFromNPagedLookasideList(zalloc(ddi, 0x80)); }, 0x1e, /lookaside list never initialised/],
    ['a push lock released by a thread that does not hold it', (ddi: Ddi) => { ddi.ExReleasePushLockExclusiveEx(zalloc(ddi, 8), 0); }, 0x1e, /not held exclusively/],
    ['a shared push lock released too often', (ddi: Ddi) => { ddi.ExReleasePushLockSharedEx(zalloc(ddi, 8), 0); }, 0x1e, /not held shared/],
    ['a push lock that is not zeroed', (ddi: Ddi) => { const p = ddi.ExAllocatePoolWithTag(0, 8, 'Test'); ddi.ExAcquirePushLockSharedEx(p, 0); }, 0x1e, /never initialised/],
    ['rundown protection released without acquiring', (ddi: Ddi) => { const r = zalloc(ddi, 8); ddi.ExReleaseRundownProtection(r); }, 0x1e, /no reference was acquired/],
    ['ExRaiseStatus', (ddi: Ddi) => { ddi.ExRaiseStatus(0xc0000017); }, 0x1e, /ExRaiseStatus raised STATUS_NO_MEMORY/],
    ['a probe alignment that is not a power of two', (ddi: Ddi) => { ddi.ProbeForRead(0x10000, 4, 3); }, 0x1e, /alignment 3 is not 1, 2, 4, 8 or 16/],
    ['a probe that runs past user space', (ddi: Ddi) => { ddi.ProbeForWrite(0x7fff_fff0_0000, 0x20_0000, 1); }, 0x1e, /not a user-mode buffer/],
  ] as const)('%s', (_what, body, code, reason) => {
    const { record } = run((ddi) => body(ddi));
    expect(record.bugCheck?.code).toBe(code);
    expect(record.bugCheck?.reason).toMatch(reason);
  });

  test('ExAllocatePoolWithQuotaTag raises when pool fails, unless told to return NULL', () => {
    const raising = run((ddi) => { ddi.ExAllocatePoolWithQuotaTag(0, 16, 'Quot'); }, 'win10-x64', [{ ddi: 'ExAllocatePoolWithTag', nth: 1, status: 0xc000009a }]);
    expect(raising.record.bugCheck?.code).toBe(0x1e);
    expect(raising.record.bugCheck?.parameters[0]).toBe('0xC000009A');
    const quiet = run((ddi, o) => { o.push(ddi.ExAllocatePoolWithQuotaTag(8, 16, 'Quot')); }, 'win10-x64', [{ ddi: 'ExAllocatePoolWithTag', nth: 1, status: 0xc000009a }]);
    expect(quiet.out).toEqual([0]);
  });

  test('an exclusive ERESOURCE wanted while the thread holds it shared: FALSE without Wait, a hang with it', () => {
    const { out, record } = run((ddi, o) => {
      const r = zalloc(ddi, 0x68);
      ddi.ExInitializeResourceLite(r);
      ddi.KeEnterCriticalRegion();
      o.push(ddi.ExAcquireResourceSharedLite(r, true), ddi.ExAcquireResourceSharedLite(r, true), ddi.ExAcquireResourceExclusiveLite(r, false));
      ddi.ExReleaseResourceLite(r);
      ddi.ExAcquireResourceExclusiveLite(r, true);
    });
    expect(out).toEqual([true, true, false]);
    expect(record.verifierStop?.reason).toMatch(/which the thread holds shared/);
  });

  test('KeLeaveCriticalRegion without KeEnterCriticalRegion: CriticalRegions', () => {
    const { record } = run((ddi) => { ddi.KeLeaveCriticalRegion(); });
    expect(record.bugCheck?.parameters[0]).toBe('0x40003');
  });
});
