import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadVerifierMutant, VERIFIER_MUTANTS } from '../../src/driver/verifier-mutants.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';
import { simulate, type Scenario } from '../../src/model/index.js';
import { scenario, VOL, mutatedCopy, runCli } from '../helpers.js';

const X86 = ['win2000-x86', 'winxp-x86', 'win2003-x86', 'win7-x86', 'win10-x86'];
const X64 = ['win7-x64', 'win10-x64', 'win11-x64'];

/** Process P1 named "caseN.exe": hostile.c runs its case N in the create callback. */
const hostileCase = (n: number, build = 'winxp-x86'): Scenario => scenario(build, [
  { op: 'CreateProcess', id: 'P0', thread: 'T0', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'P0', path: `${VOL}\\case${n}.exe` },
]);

let hostile: DriverModule;
let hostileOff: DriverModule;
let vfmon: DriverModule;
const mutants = new Map<number, DriverModule>();
beforeAll(async () => {
  hostile = await loadWasmDriver('test/fixtures/verifier/hostile.c');
  hostileOff = await loadWasmDriver('test/fixtures/verifier/hostile.c', { verifier: false });
  vfmon = await loadVerifierMutant(0);
  for (const m of VERIFIER_MUTANTS) mutants.set(m.schema, await loadVerifierMutant(m.schema));
}, 240_000);

const run = (argv: string[]): ReturnType<typeof runCli> => runCli(argv);

describe('the verifier checks every load and store of a C driver (the hostile cases)', () => {
  const cases: [number, string, number | null, RegExp][] = [
    [1, 'use after free of a pool block', 0xd5, /read from freed pool .*'Host'/],
    [2, '4 KB written past a 16-byte pool block', 0xd6, /offset 16 of pool block 'Host' \(16 bytes/],
    [3, 'memset over the parent\'s EPROCESS', null, /EPROCESS at .*which it does not own/],
    [4, '16 KB after the driver image overwritten', null, /EPROCESS .*which it does not own/],
    [5, 'the whole NULL page written', 0x50, /write to 0x0{8,16} in the NULL page/],
    [6, '*(volatile ULONG *)0 = 1', 0x50, /write to 0x0{8,16} in the NULL page/],
    [7, 'a kernel stack overflow (runaway recursion)', 0x7f, /kernel stack overflow/],
    [8, 'a store into the image\'s .rodata', 0xbe, /read-only data/],
  ];
  test.each(cases)('case %i: %s', (n, _what, code, reason) => {
    for (const build of [...X86.filter((b) => b !== 'win2000-x86'), ...X64]) {
      const r = simulate(hostile, hostileCase(n, build));
      if (n === 4 && build.endsWith('-x64')) {
        // an x64 image lies apart from the kernel's pool (canonical addresses): past its end nothing is mapped
        expect(r.bugCheck?.code, build).toBe(0x50);
        expect(r.bugCheck?.reason).toMatch(/write to unmapped address 0x00000000000/);
        continue;
      }
      if (code === null) {
        expect(r.bugCheck, build).toBeNull();
        expect(r.verifierStop?.check).toBe('kernel-memory-owned');
        expect(r.verifierStop?.reason).toMatch(reason);
        expect(r.verifierStop?.function).toBe('OnProcess');
      } else {
        expect(r.bugCheck?.code, build).toBe(code);
        expect(r.bugCheck?.reason).toMatch(reason);
        expect(r.bugCheck?.function).toBe(n === 7 ? 'Recurse' : 'OnProcess');
      }
    }
    // Without the verifier the same run passes unnoticed, except where any machine faults (NULL, freed pool)
    const off = simulate(hostileOff, hostileCase(n));
    if (n === 2 || n === 3 || n === 4) {
      expect(off.bugCheck).toBeNull();
      expect(off.verifierStop ?? null).toBeNull();
    }
  });

  test('fuzz finds them and exits 1; --verifier off misses the overrun and the corruption', async () => {
    const on = await run(['fuzz', '--driver', 'test/fixtures/verifier/hostile.c', '--no-reports', '--runs', '300', '--build', 'winxp-x86']);
    expect(on.code).toBe(1);
    expect(on.out).toMatch(/no-bugcheck|kernel-memory-owned/);
    const dir = mkdtempSync(join(tmpdir(), 'psh-vf-'));
    // one CPU: the x86 build without the verifier has no memory checks at all (a fibers build keeps them, as x64 does)
    const off = await run(['fuzz', '--driver', 'test/fixtures/verifier/hostile.c', '--verifier', 'off', '--runs', '300', '--build', 'winxp-x86', '--reports', dir, '--cpus', '1']);
    // without the verifier only the faults any machine takes remain (NULL page, freed pool)
    expect(off.out).not.toMatch(/kernel-memory-owned|special-pool\]|0xD6/);
    const reports = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(reports.length).toBeGreaterThan(0);
    for (const f of reports) {
      const report = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { fuzz: { verifier?: boolean } };
      expect(report.fuzz.verifier).toBe(false);
      const replay = await run(['replay', join(dir, f)]);
      expect(replay.out).toMatch(/record identical/);
    }
    const bad = await run(['fuzz', '--driver', 'test/fixtures/verifier/hostile.c', '--verifier', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--verifier must be 'on' or 'off'/);
  }, 60_000);
});

describe('verifier mutants (examples/drivers/vfmon.c with PSH_MUTANT=n)', () => {
  test('the corrected vfmon passes every build, adversarial profile', () => {
    const r = fuzz({ driver: vfmon, seed: 5, runs: 1500, builds: X86, profile: 'adversarial' });
    expect(r.findings.map((f) => `${f.invariant.id}: ${f.violations[0]?.message}`)).toEqual([]);
  });

  test.each(VERIFIER_MUTANTS.map((m) => [m.id, m] as const))('%s: caught on its minimal scenario with the documented check', (_id, m) => {
    const driver = mutants.get(m.schema) as DriverModule;
    const r = runAndCheck(driver, m.minimal, INVARIANTS.filter((i) => !i.needsOutput || driver.logsEvents !== false));
    expect(r.violations.map((v) => v.invariant)).toContain(m.invariant);
    if (m.bugCheck === null) {
      expect(r.record.verifierStop?.check).toBe(m.check);
    } else {
      expect(r.record.bugCheck?.code).toBe(m.bugCheck);
      expect(r.record.bugCheck?.check).toBe(m.check);
      if (m.parameter1 !== undefined) expect(r.record.bugCheck?.parameters[0]).toBe(m.parameter1);
    }
    // the corrected driver is silent on the same scenario
    expect(runAndCheck(vfmon, m.minimal, INVARIANTS).violations).toEqual([]);
    // and the minimal scenario is minimal: dropping any op loses the finding
    for (let i = 0; i < m.minimal.ops.length; i++) {
      const fewer = { ...m.minimal, ops: m.minimal.ops.filter((_, k) => k !== i) };
      if (fewer.ops.some((o) => o.op === 'ExitProcess') && !fewer.ops.some((o) => o.op === 'CreateProcess')) continue;
      const again = runAndCheck(driver, fewer, [getInvariant(m.invariant)]);
      expect(again.violations, `${m.id} without op ${i}`).toEqual([]);
    }
  });

  test('the corrected vfmon passes the x64 builds, adversarial profile', () => {
    const r = fuzz({ driver: vfmon, seed: 6, runs: 1000, builds: X64, profile: 'adversarial' });
    expect(r.findings.map((f) => `${f.invariant.id}: ${f.violations[0]?.message}`)).toEqual([]);
  });

  test.each(VERIFIER_MUTANTS.map((m) => [m.id, m] as const))('%s: caught the same way in its x64 build (win10-x64)', (_id, m) => {
    const driver = mutants.get(m.schema) as DriverModule;
    const minimal = { ...m.minimal, build: 'win10-x64' };
    const r = runAndCheck(driver, minimal, INVARIANTS.filter((i) => !i.needsOutput || driver.logsEvents !== false));
    expect(r.violations.map((v) => v.invariant)).toContain(m.invariant);
    if (m.bugCheck === null) expect(r.record.verifierStop?.check).toBe(m.check);
    else {
      expect(r.record.bugCheck?.code).toBe(m.bugCheck);
      expect(r.record.bugCheck?.check).toBe(m.check);
    }
    expect(runAndCheck(vfmon, minimal, INVARIANTS).violations).toEqual([]);
  });

  /**
   * A second route to the same bug that no removal shortens: a process the driver does not track is also one created
   * while it was unloaded (unload, create, load, exit: 4 operations, no fault); shrinking removes, it never adds the
   * allocation fault of the 2-operation route. Format 1's seed 1 took the short route, its seeds 2 to 5 this one.
   */
  const ALSO_MINIMAL: Readonly<Record<string, readonly number[]>> = { 'early-return-skips-release': [4] };

  test.each(VERIFIER_MUTANTS.map((m) => [m.id, m] as const))('%s: fuzz kills it and shrinks to the minimal length', (_id, m) => {
    const driver = mutants.get(m.schema) as DriverModule;
    const r = fuzz({ driver, seed: 1, runs: 1000, builds: ['winxp-x86'], invariants: [getInvariant(m.invariant)] });
    expect(r.findings.length).toBeGreaterThanOrEqual(1);
    expect([m.minimal.ops.length, ...(ALSO_MINIMAL[m.id] ?? [])]).toContain(r.findings[0].scenario.ops.length);
  });
});

describe('the procwatch.c survivors of a generic mutation run are killed now', () => {
  // The third survivor the issue lists, `RemoveEntryList(&stale->Link)` deleted, is on a path no scenario reaches:
  // a create for a PID whose exit the driver did not see (every exit of a process it saw start is delivered while
  // it is registered, and unload empties the list). docs/verifier.md lists it as equivalent under the model.
  const survivors: [string, string, string][] = [
    ['a local read before it is assigned', '    stale = FindProcess(ProcessId); /* a PID we missed the exit of: the new process owns it now */\n', ''],
    ['DriverUnload returns holding the fast mutex', '    gTracked = 0;\n    ExReleaseFastMutex(&gLock);\n', '    gTracked = 0;\n'],
  ];
  test.each(survivors)('%s', async (_what, from, to) => {
    const file = await mutatedCopy('examples/drivers/procwatch.c', from, to);
    const mutant = await loadWasmDriver(file);
    const r = fuzz({ driver: mutant, seed: 1, runs: 1000, builds: ['win7-x86', 'win10-x86'], profile: 'adversarial' });
    expect(r.failed).toBe(true);
    expect(r.findings.some((f) => f.invariant.id === 'no-bugcheck')).toBe(true);
    const off = fuzz({ driver: await loadWasmDriver(file, { verifier: false }), seed: 1, runs: 300, builds: ['win7-x86'], invariants: [getInvariant('no-bugcheck')] });
    expect(off.findings.length + r.findings.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('completeness: the psrefmon.c survivors of a generic mutation run', () => {
  test.each([
    ['the process registration deleted', '    status = PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE);\n'],
    ['the thread registration deleted', '    status = PsSetCreateThreadNotifyRoutine(ThreadNotify);\n'],
  ])('%s: killed by events-complete', async (_what, line) => {
    const mutant = await loadWasmDriver(await mutatedCopy('examples/drivers/psrefmon.c', line, '    status = STATUS_SUCCESS;\n'));
    const r = fuzz({ driver: mutant, seed: 1, runs: 1000, builds: ['winxp-x86', 'win10-x86'], invariants: [getInvariant('events-complete')] });
    expect([...new Set(r.findings.map((f) => f.invariant.id))]).toEqual(['events-complete']);
    expect(r.findings[0].violations[0].message).toMatch(/was never logged, though the driver monitors/);
  }, 60_000);
});


describe('device-interface: the psrefmon.c survivors about its device', () => {
  test.each([
    ['Exclusive TRUE made FALSE', 'FILE_DEVICE_UNKNOWN, 0, TRUE, &gDevice', 'FILE_DEVICE_UNKNOWN, 0, FALSE, &gDevice', /created with Exclusive=FALSE, the design needs TRUE/],
    ['the symbolic link never created', 'status = IoCreateSymbolicLink(&gLinkName, &gDeviceName);', 'status = STATUS_SUCCESS;', /no symbolic link \\DosDevices\\PsRefMonC/],
  ])('%s: killed', async (_what, from, to, msg) => {
    const mutant = await loadWasmDriver(await mutatedCopy('examples/drivers/psrefmon.c', from, to));
    const r = fuzz({ driver: mutant, seed: 1, runs: 1000, builds: ['winxp-x86'], invariants: [getInvariant('device-interface')] });
    expect(r.findings[0]?.violations[0]?.message).toMatch(msg);
  }, 60_000);
});

describe('the remaining psrefmon.c survivors of the generic mutation run (reports/mutation.md)', () => {
  test.each([
    ['the split loop runs a chunk too far (at <= chars)', 'at < chars;', 'at <= chars;', 'image-path-full', /1 empty continuation line\(s\)/],
    ['IoCreateDevice deleted (DriverEntry returns an uninitialised status)', '    status = IoCreateDevice(DriverObject, 0, &gDeviceName, FILE_DEVICE_UNKNOWN, 0, TRUE, &gDevice);\n', '', 'entry-failure-justified', /although every DDI it called \(\d+\) succeeded/],
    ['no IRP_MJ_CREATE dispatch routine', '    DriverObject->MajorFunction[IRP_MJ_CREATE] = PsRefMonDispatch;\n', '', 'device-interface', /opening the driver's device failed with STATUS_INVALID_DEVICE_REQUEST/],
    ['IRP_MJ_CREATE leaves the status unset', '        status = STATUS_SUCCESS;\n', '', 'device-interface', /opening the driver's device failed with 0x/],
  ])('%s: killed', async (_what, from, to, invariant, msg) => {
    const mutant = await loadWasmDriver(await mutatedCopy('examples/drivers/psrefmon.c', from, to));
    const r = fuzz({ driver: mutant, seed: 1, runs: 1000, builds: ['winxp-x86'], invariants: [getInvariant(invariant)] });
    expect(r.findings[0]?.violations[0]?.message).toMatch(msg);
  }, 60_000);

  test('the corrected psrefmon.c prints no empty continuation line at 800 characters', async () => {
    const driver = await loadWasmDriver('examples/drivers/psrefmon.c');
    const r = fuzz({ driver, seed: 1, runs: 1000, builds: ['winxp-x86'], invariants: [getInvariant('image-path-full'), getInvariant('device-interface'), getInvariant('entry-failure-justified')] });
    expect(r.failed).toBe(false);
  }, 60_000);
});

describe('thread-count-correct: the procwatch.c survivors about its per-process thread count', () => {
  test.each([
    ['the count never incremented', '        record->Threads++;\n', '        ;\n'],
    ['FindProcess matches the wrong record', '        if (p->ProcessId == ProcessId)\n', '        if (!(p->ProcessId == ProcessId))\n'],
    ['the record never given its PID', '    record->ProcessId = ProcessId;\n', ''],
  ])('%s: killed', async (_what, from, to) => {
    const mutant = await loadWasmDriver(await mutatedCopy('examples/drivers/procwatch.c', from, to));
    const r = fuzz({ driver: mutant, seed: 1, runs: 1000, builds: ['win10-x86'], invariants: [getInvariant('thread-count-correct')] });
    expect(r.findings[0]?.violations[0]?.message).toMatch(/exit logged threads=\d+, but the driver was notified of \d+ thread start/);
  }, 60_000);
});
