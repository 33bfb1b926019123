import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { fuzz } from '../../src/harness/fuzz.js';

/**
 * The example monitors built on the WDK surface real monitors use, each with broken twins (-D<NAME>_BROKEN=n):
 * the correct one passes the adversarial profile on every build it loads on, each twin is caught.
 */
const load = (file: string, define?: string, n?: number): Promise<DriverModule> =>
  loadWasmDriver(`examples/drivers/${file}`, define === undefined ? {} : { defines: { [define]: String(n) } });
const drivers = new Map<string, DriverModule>();
beforeAll(async () => {
  drivers.set('imagegate', await load('imagegate.c'));
  drivers.set('timeline', await load('timeline.c'));
  for (const n of [1, 2]) {
    drivers.set(`imagegate-${n}`, await load('imagegate.c', 'IMAGEGATE_BROKEN', n));
    drivers.set(`timeline-${n}`, await load('timeline.c', 'TIMELINE_BROKEN', n));
  }
}, 300_000);

describe('imagegate.c: image loads against a blocklist (ANSI conversion, _stricmp, strstr, RtlStringCbPrintfA, vDbgPrintEx, rundown)', () => {
  test('passes the adversarial profile on every build it loads on, x86 and x64', () => {
    const r = fuzz({ driver: drivers.get('imagegate') as DriverModule, seed: 3, runs: 1500, profile: 'adversarial' });
    expect(r.findings.map((f) => `${f.invariant.id}: ${f.violations[0]?.message}`)).toEqual([]);
  });
  test('twin 1 never frees the ANSI name: pool-released names the Rtl allocation', () => {
    const r = fuzz({ driver: drivers.get('imagegate-1') as DriverModule, seed: 1, runs: 1000 });
    expect(r.findings[0]?.invariant.id).toBe('pool-released');
    expect(r.findings[0]?.violations[0].message).toMatch(/pool block\(s\) not freed \(RtlS:/);
  });
  test('twin 2 logs the base with %08X: truncated on x64 only', () => {
    const r = fuzz({ driver: drivers.get('imagegate-2') as DriverModule, seed: 1, runs: 1000 });
    const trunc = r.findings.find((f) => f.invariant.id === 'pointers-full-width');
    expect(trunc?.violations[0].message).toMatch(/image base truncated to its low 32 bits/);
    expect(r.findings.every((f) => f.scenario.build.includes('x64'))).toBe(true);
  });
});

describe('timeline.c: kernel handles, ZwQueryInformationProcess, create times, a push lock', () => {
  test('passes the adversarial profile on every build it loads on, x86 and x64', () => {
    const r = fuzz({ driver: drivers.get('timeline') as DriverModule, seed: 3, runs: 1500, profile: 'adversarial' });
    expect(r.findings.map((f) => `${f.invariant.id}: ${f.violations[0]?.message}`)).toEqual([]);
  });
  test('twin 1 never closes its handle: every process it saw stays referenced', () => {
    const r = fuzz({ driver: drivers.get('timeline-1') as DriverModule, seed: 1, runs: 1000 });
    // one root cause: the reference the routine takes and never drops (references-balanced, and the zombies of
    // references-released, are one finding)
    const leak = r.findings.filter((f) => /^references\|.*a reference taken in process routine \w+ is never dropped$/.test(f.signature));
    expect(leak).toHaveLength(1);
    expect(r.findings.filter((f) => f.invariant.id.startsWith('references-'))).toHaveLength(1);
  });
  test('twin 2 passes the wrong length and logs an uninitialised parent', () => {
    const r = fuzz({ driver: drivers.get('timeline-2') as DriverModule, seed: 1, runs: 1000 });
    expect(r.findings[0]?.violations[0].message).toMatch(/process-create logged with wrong ppid/);
  });
});
