/**
 * Several CPUs with C drivers (docs/concurrency.md): the fibers build switches threads of execution inside the
 * driver's code; the race detector, the lock-order graph and the deadlock check find proctable.c's racy mutants
 * and stay silent on proctable.c, on x86 and x64.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { reference, type DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { recordHash } from '../../src/harness/report.js';
import { getInvariant } from '../../src/invariants/index.js';
import { simulate, type Scenario } from '../../src/model/index.js';
import { mutatedCopy, runCli, scenario, VOL } from '../helpers.js';
import fc from 'fast-check';
import { scenarioArbitrary } from '../../src/generators/scenario.js';

const MUTANTS: readonly [string, string][] = [
  ['nolock', 'no-data-race'],
  ['early-unlock', 'no-data-race'],
  ['check-then-act', 'no-data-race'],
  ['lock-order', 'lock-order-consistent'],
  ['unload-no-wait', 'no-data-race'],
  ['plain-counter', 'no-data-race'],
];

let table: DriverModule;
const mutants = new Map<string, DriverModule>();
let lockless: DriverModule;
let waits: DriverModule;
let keepsRoutines: DriverModule;
let deep: DriverModule;
let bigStack: DriverModule;
beforeAll(async () => {
  bigStack = await loadWasmDriver('test/fixtures/concurrency/bigstack.c', { fibers: true });
  deep = await loadWasmDriver('test/fixtures/concurrency/deep.c', { fibers: true });
  // proctable.c whose DriverUnload never removes its routines (so it waits for no call in progress)
  keepsRoutines = await loadWasmDriver(await mutatedCopy('examples/drivers/proctable.c',
    '    PsRemoveLoadImageNotifyRoutine(OnImage);\n    PsRemoveCreateThreadNotifyRoutine(OnThread);\n    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);\n', ''), { fibers: true });
  waits = await loadWasmDriver('test/fixtures/concurrency/waits.c', { fibers: true });
  table = await loadWasmDriver('examples/drivers/proctable.c', { fibers: true });
  for (const [m] of MUTANTS) mutants.set(m, await loadWasmDriver(`examples/drivers/proctable-${m}.c`, { fibers: true }));
  // the example: procwatch.c with the lock on its thread routine deleted
  const file = await mutatedCopy('examples/drivers/procwatch.c', '    ExAcquireFastMutex(&gLock);\n    record = FindProcess(ProcessId);\n    if (record != NULL && Create)\n        record->Threads++;\n    ExReleaseFastMutex(&gLock);',
    '    record = FindProcess(ProcessId);\n    if (record != NULL && Create)\n        record->Threads++;');
  lockless = await loadWasmDriver(file, { fibers: true });
}, 300_000);

/** Two threads of one process start at once: their routines overlap on two CPUs. */
const twoThreads: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'CreateThread', id: 'T3', process: 'P1' },
  { op: 'ExitThread', thread: 'T2' },
  { op: 'ExitThread', thread: 'T3' },
];

describe('a run on several CPUs', () => {
  test('is a pure function of the scenario and its schedule, on x86 and x64', () => {
    for (const build of ['win10-x86', 'win10-x64']) {
      const s = scenario(build, twoThreads, { schedule: { cpus: 3, kind: 'random', seed: 11 } });
      const a = simulate(mutants.get('nolock') as DriverModule, s);
      const b = simulate(mutants.get('nolock') as DriverModule, s);
      expect(recordHash(a)).toBe(recordHash(b));
      expect(a.concurrency?.timeline.some((e) => e.cpu > 0)).toBe(true);
    }
  });

  test('one CPU is today\'s sequential run, byte for byte', () => {
    const plain = scenario('win10-x64', twoThreads);
    const one = scenario('win10-x64', twoThreads, { schedule: { cpus: 1, kind: 'pct', priorities: [4, 3, 2, 1, 0] } });
    expect(recordHash(simulate(table, one))).toBe(recordHash(simulate(table, plain)));
  });

  test('a C driver is switched out inside its routines: a routine starts on one CPU while another is mid-way', () => {
    // op 1 outranks op 2 until the preemption at step 5, inside op 1's OnThread: op 2 starts on the other CPU there
    const s = scenario('win10-x86', twoThreads, { schedule: { cpus: 2, kind: 'pct', priorities: [0, 5, 1, 0, 0], preemptions: [5] } });
    const r = simulate(table, s);
    const t = r.concurrency?.timeline ?? [];
    const start1 = t.find((e) => e.op === 1 && e.event === 'start')?.step ?? -1;
    const start2 = t.find((e) => e.op === 2 && e.event === 'start');
    const end1 = t.find((e) => e.op === 1 && e.event === 'end')?.step ?? -1;
    expect(start2?.step).toBe(5);
    expect(start2?.cpu).toBe(1);
    expect(start1).toBeLessThan(5);
    expect(end1).toBeGreaterThan(5);
    expect(r.callbacks.filter((c) => c.routine === 'OnThread').map((c) => c.cpu)).toEqual(expect.arrayContaining([0, 1]));
    expect(runAndCheck(table, s).violations).toEqual([]);
  });

  test('the TypeScript reference interleaves whole routines and keeps every invariant', () => {
    const r = fuzz({ driver: reference, seed: 3, runs: 300, cpus: 4, profile: 'adversarial', builds: ['win10-x64', 'winxp-x86'] });
    expect(r.findings).toEqual([]);
  });
});

describe('unloading under a running routine', () => {
  test('DriverUnload returning while another CPU is inside the image is bug check 0xCE; the rundown wait holds it off', () => {
    const ops: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }, { op: 'UnloadDriver' }];
    // preempted at step 2, inside OnProcess before it takes the rundown reference: DriverUnload runs to its end
    const early = simulate(keepsRoutines, scenario('win10-x64', ops, { schedule: { cpus: 2, kind: 'pct', priorities: [5, 1], preemptions: [2] } }));
    expect(early.bugCheck?.code).toBe(0xce);
    expect(early.bugCheck?.reason).toMatch(/DriverUnload returned while OnProcess \(operation 0\) was still running on CPU 0/);
    // preempted later, holding it: DriverUnload waits for the rundown, the call ends, and the next routine is the one
    // called into the unloaded image
    const late = simulate(keepsRoutines, scenario('win10-x64', ops, { schedule: { cpus: 2, kind: 'pct', priorities: [5, 1], preemptions: [3] } }));
    expect(late.bugCheck?.reason).toMatch(/thread notify routine OnThread \(slot 0\) called after .* was unloaded/);
    expect(late.concurrency?.timeline.some((e) => e.event === 'blocked' && /rundown/.test(e.at))).toBe(true);
    // proctable.c itself removes its routines first: the removal waits, nothing breaks
    expect(runAndCheck(table, scenario('win10-x64', ops, { schedule: { cpus: 2, kind: 'pct', priorities: [5, 1], preemptions: [2] } })).violations).toEqual([]);
  });
});

describe('a routine too deep to switch out', () => {
  test('3,000 nested calls switched out at the bottom: a kernel stack overflow (0x7F), named, not a trap', () => {
    const ops: Scenario['ops'] = [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
      { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
    ];
    // the recursion makes no DDI call, so PCT (which preempts at synchronisation points) never switches it out: uniform
    // random switches do, at its accesses, at every depth
    for (const build of ['win10-x86', 'win10-x64']) {
      const r = simulate(deep, scenario(build, ops, { schedule: { cpus: 2, kind: 'random', seed: 1 } }));
      expect(r.bugCheck?.code, build).toBe(0x7f);
      expect(r.bugCheck?.reason).toMatch(/nested too deep to be switched out \(more than 16384 bytes of frames\)/);
      // switched out only between routines, it fits
      expect(simulate(deep, scenario(build, ops, { schedule: { cpus: 2, kind: 'pct', priorities: [5, 1], preemptions: [2] } })).bugCheck).toBeNull();
    }
  });
});

describe('each CPU\'s stack', () => {
  test('20 KB of locals: past x86\'s 12 KB kernel stack (0x7F) on one CPU or two; within x64\'s 24 KB on either', () => {
    const ops: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }];
    for (const schedule of [undefined, { cpus: 2, kind: 'pct' } as const]) {
      const x86 = simulate(bigStack, scenario('win10-x86', ops, schedule === undefined ? {} : { schedule }));
      expect(x86.bugCheck?.code).toBe(0x7f);
      expect(x86.bugCheck?.reason).toMatch(/frame takes the stack to 20,\d{3} bytes, past the 12 KB kernel stack of x86/);
      expect(simulate(bigStack, scenario('win10-x64', ops, schedule === undefined ? {} : { schedule })).bugCheck).toBeNull();
    }
  });
});

describe('waits block and wake between CPUs', () => {
  test('fast mutex, ERESOURCE, push lock, event and notify-routine removal each make a C routine wait, and nothing races', () => {
    const blocked = new Set<string>();
    for (const s of fc.sample(scenarioArbitrary({ builds: ['win10-x86', 'win10-x64'], cpus: 4 }), { seed: 4, numRuns: 300 })) {
      const r = simulate(waits, s);
      expect(r.concurrency?.races ?? []).toEqual([]);
      expect(r.verifierStop ?? null).toBeNull();
      for (const e of r.concurrency?.timeline ?? []) if (e.event === 'blocked') blocked.add(e.at.replace(/ 0x[0-9A-F]+.*$/, '').replace(/^the calls of .*/, 'removal'));
    }
    expect([...blocked].sort()).toEqual(['ERESOURCE', 'event', 'fast mutex', 'push lock', 'removal']);
    expect(fuzz({ driver: waits, seed: 4, runs: 300, cpus: 4, profile: 'adversarial', builds: ['win10-x86', 'win10-x64'] }).findings).toEqual([]);
  });
});

describe('proctable.c and its racy mutants', () => {
  test('proctable.c holds every invariant on 4 CPUs, x86 and x64', () => {
    const r = fuzz({ driver: table, seed: 5, runs: 400, cpus: 4, profile: 'adversarial', builds: ['win10-x86', 'win10-x64', 'win7-x64', 'winxp-x86'] });
    expect(r.findings.map((f) => f.violations[0]?.message)).toEqual([]);
  });

  test.each(MUTANTS)('%s is killed by %s, shrunk to a schedule on at least 2 CPUs', (m, invariant) => {
    const driver = mutants.get(m) as DriverModule;
    const r = fuzz({ driver, seed: 1, runs: 1000, cpus: 4, builds: ['win10-x86', 'win10-x64'], invariants: [getInvariant(invariant)], maxFindings: 1 });
    expect(r.findings.length, m).toBeGreaterThan(0);
    const f = r.findings[0];
    expect(f.scenario.schedule?.cpus).toBeGreaterThanOrEqual(2);
    // the shrunk scenario still fails, and the bug needs the second CPU
    expect(runAndCheck(driver, f.scenario, [getInvariant(invariant)]).violations.length).toBeGreaterThan(0);
    const { schedule: _s, ...sequential } = f.scenario;
    expect(runAndCheck(driver, sequential, [getInvariant(invariant)]).violations).toEqual([]);
  }, 120_000);

  test('the lock-order mutant also deadlocks outright, and the wait chain names both CPUs', () => {
    const r = fuzz({ driver: mutants.get('lock-order') as DriverModule, seed: 1, runs: 1000, cpus: 2, builds: ['win10-x64'], invariants: [getInvariant('no-deadlock')], maxFindings: 1 });
    expect(r.findings.length).toBeGreaterThan(0);
    // the locks by their variables (the driver's DWARF), and the deadlock signs as the inversion it comes from
    expect(r.findings[0].violations[0].message).toMatch(/deadlock: operation \d+ \(On\w+\) on CPU \d waits for spin lock 0x[0-9A-F]+ \(proctable[\w-]*!g(Table|Queue)Lock\), held by operation \d+ \(On\w+\) on CPU \d/);
    expect(r.findings[0].signature).toMatch(/^lock-order\|-\|-\|proctable\S*!gQueueLock and proctable\S*!gTableLock are acquired in both orders$/);
  }, 120_000);

  test('procwatch.c with the lock of its thread routine deleted: a data race on the record\'s count', () => {
    const r = fuzz({ driver: lockless, seed: 2, runs: 1000, cpus: 4, builds: ['win10-x64'], invariants: [getInvariant('no-data-race')], maxFindings: 1 });
    expect(r.findings.length).toBeGreaterThan(0);
    expect(r.findings[0].violations[0].message).toMatch(/^data race on .*procwatch.* between On\w+ and OnThread/);
    // and on one CPU it passes, as it always did
    expect(fuzz({ driver: lockless, seed: 2, runs: 300, builds: ['win10-x64'], invariants: [getInvariant('no-data-race')] }).findings).toEqual([]);
  }, 120_000);
});

describe('campaigns', () => {
  test('the same findings, scenarios and records on 1 and 2 worker threads, with a C driver on several CPUs', async () => {
    const { runCampaign, CHUNK_RUNS } = await import('../../src/harness/campaign.js');
    const opts = { driver: mutants.get('nolock') as DriverModule, seed: 2, runs: 3 * CHUNK_RUNS, cpus: 4, builds: ['win10-x86', 'win10-x64'], spec: { name: 'examples/drivers/proctable-nolock.c', verifier: true, fibers: true } };
    const one = await runCampaign({ ...opts, workers: 1 });
    const two = await runCampaign({ ...opts, workers: 2 });
    expect(one.failed).toBe(true);
    expect(two.findings.map((f) => [f.signature, JSON.stringify(f.scenario), recordHash(f.record)])).toEqual(one.findings.map((f) => [f.signature, JSON.stringify(f.scenario), recordHash(f.record)]));
  }, 180_000);
});

describe('the CLI', () => {
  test('--cpus 4 kills a racy mutant with a report whose timeline shows the CPUs; --cpus is checked', async () => {
    const { mkdtempSync, readdirSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'psh-cpus-'));
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--cpus', '4', '--runs', '500', '--seed', '2', '--build', 'win10-x64', '--workers', '1', '--max-findings', '1', '--reports', dir]);
    expect(r.code).toBe(1);
    const md = readdirSync(dir).find((f) => f.endsWith('.md')) as string;
    const text = readFileSync(join(dir, md), 'utf8');
    expect(text).toMatch(/## CPUs/);
    expect(text).toMatch(/\| step \| CPU 0 \| CPU 1 \|/);
    const json = readdirSync(dir).find((f) => f.endsWith('.json')) as string;
    const replay = await runCli(['replay', join(dir, json)]);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(/record identical/);
    expect((await runCli(['fuzz', '--driver', 'reference', '--cpus', '9'])).code).toBe(2);
  }, 120_000);
});
