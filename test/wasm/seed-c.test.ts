import { beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { linesOf, reference, wssprocmon, type DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { applicableBuilds, applicableInvariants, fuzz } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import { BUILDS, getBuild, simulate, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

let cseed: DriverModule;
let cref: DriverModule;
beforeAll(async () => {
  cseed = await loadWasmDriver('examples/drivers/wssprocmon.c');
  cref = await loadWasmDriver('examples/drivers/psrefmon.c');
}, 120_000);

const ALL = BUILDS.map((b) => b.id);
const sc = scenario;
const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\notepad.exe` },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'LoadImage', process: 'P1', path: `${VOL}\\x.dll` },
  { op: 'LoadImage', process: 'System', path: '\\SystemRoot\\System32\\drivers\\y.sys' },
  { op: 'ExitProcess', process: 'P1' },
  { op: 'UnloadDriver' },
];
/** Addresses differ between a TypeScript and a WebAssembly driver's kernel (VA base): mask them. */
const mask = (s: string): string => s.replace(/(ADDRESS |eprocess=|0x)[0-9A-Fa-f]+/g, '$1*');
const lines = (d: DriverModule, build: string) => simulate(d, sc(build, ops)).callbacks.flatMap((c) => linesOf(c.prints)).map(mask);

describe('C drivers compiled to WebAssembly behave like their TypeScript twins', () => {
  test.each(ALL)('seed on %s: same lines', (build) => {
    expect(lines(cseed, build)).toEqual(lines(wssprocmon, build));
  });

  test.each(ALL)('reference on %s: same lines, no violation', (build) => {
    expect(lines(cref, build)).toEqual(lines(reference, build));
    expect(runAndCheck(cref, sc(build, ops)).violations).toEqual([]);
  });

  test('differential: the C seed and the TypeScript seed give the same violations on the same shrunk scenarios', () => {
    const found = fuzz({ driver: wssprocmon, seed: 3, runs: 1000, builds: ALL });
    expect(found.findings.length).toBeGreaterThanOrEqual(6);
    // x64 included: the pointer truncation (seed bug 7) is among the scenarios compared
    expect(found.findings.some((f) => getBuild(f.scenario.build).pointerSize === 8 && f.invariant.seedBug === 7)).toBe(true);
    for (const f of found.findings) {
      const ts = runAndCheck(wssprocmon, f.scenario, INVARIANTS).violations;
      const c = runAndCheck(cseed, f.scenario, INVARIANTS).violations;
      const key = (v: { invariant: string; evidence: { op: number; seq?: number } }) => `${v.invariant}@${v.evidence.op}/${v.evidence.seq ?? '-'}`;
      expect(c.map(key), f.invariant.id).toEqual(ts.map(key));
      // messages agree too, except where a bug check is described by the platform that raised it
      const msgs = (vs: typeof ts) => vs.filter((v) => v.invariant !== 'no-bugcheck').map((v) => mask(v.message));
      expect(msgs(c), f.invariant.id).toEqual(msgs(ts));
    }
  });

  test('fuzzing the C seed finds every seed bug (1-7), the pointer truncation on the x64 builds', () => {
    const r = fuzz({ driver: cseed, seed: 1, runs: 1000 });
    const bugs = new Set(r.findings.map((f) => f.invariant.seedBug).filter((b) => b !== undefined));
    expect([...bugs].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const truncation = r.findings.filter((f) => f.invariant.seedBug === 7);
    expect(truncation.length).toBeGreaterThan(0);
    // an x64 build, whatever its release (win11-x64-22h2)
    expect(truncation.every((f) => getBuild(f.scenario.build).pointerSize === 8)).toBe(true);
    expect(applicableBuilds(cseed, BUILDS.map((b) => b.id)).skipped).toEqual([]);
  });

  test('the C reference passes the adversarial profile on every build, x64 included', () => {
    const r = fuzz({ driver: cref, seed: 5, runs: 300, profile: 'adversarial' });
    expect(r.findings.map((f) => f.violations[0]?.message)).toEqual([]);
    expect(applicableInvariants(cref)).toHaveLength(INVARIANTS.length);
  });

  test('the C seed reads the IRP after completing it, as the port does; the C reference does not', () => {
    const req: Scenario['ops'] = [{ op: 'DeviceRequest', major: 'IRP_MJ_CREATE' }, { op: 'DeviceRequest', major: 'IRP_MJ_DEVICE_CONTROL', ioctl: 0x222000 }];
    const irps = (d: DriverModule) => simulate(d, sc('winxp-x86', req)).phases.filter((p) => p.phase === 'Dispatch').map((p) => p.irp);
    expect(irps(cseed)).toEqual(irps(wssprocmon));
    expect(irps(cseed)[0]?.returned).toBe('0xDFDFDFDF');
    expect(irps(cref)).toEqual(irps(reference));
    expect(irps(cref)).toEqual([
      { major: 'IRP_MJ_CREATE', completions: 1, completionStatus: 'STATUS_SUCCESS', returned: 'STATUS_SUCCESS' },
      { major: 'IRP_MJ_DEVICE_CONTROL', ioctl: '0x222000', completions: 1, completionStatus: 'STATUS_INVALID_DEVICE_REQUEST', returned: 'STATUS_INVALID_DEVICE_REQUEST' },
    ]);
  });

  test('a NULL FullImageName in the C seed is a bug check naming the function, not a crash', () => {
    const r = simulate(cseed, sc('winxp-x86', [{ op: 'LoadImage', process: 'System', path: '\\SystemRoot\\x.sys', pathUnavailable: true }]));
    expect(r.bugCheck?.code).toBe(0x50);
    expect(r.bugCheck?.reason).toMatch(/NULL pointer dereference in ImageCreateMon: a member access through NULL at wssprocmon\.c:\d+:\d+/);
  });

  test('the C reference finds the ImageFileName offset by scanning on Windows 2000', () => {
    const r = simulate(cref, sc('win2000-x86', ops.slice(0, 1)));
    expect(r.callbacks[0].prints[0].text).toMatch(/name=notepad\.exe eprocess=/);
    const entry = r.phases.find((p) => p.phase === 'DriverEntry');
    expect(entry?.ddi.some((d) => d.name === 'PsGetProcessImageFileName')).toBe(false);
  });
});
