/**
 * One root cause, one finding (issue 23): a routine DriverUnload does not remove is one bug, whether the residue
 * at unload (unload-clean) or the bug check 0xCE when the kernel later calls it (no-bugcheck) shows it; two routines
 * left are two bugs. What an earlier load left is not blamed on the next load.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_WEIGHTS, scenarioArbitrary } from '../../src/generators/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { getInvariant, signatureOf } from '../../src/invariants/index.js';
import { STATUS_INSUFFICIENT_RESOURCES, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const forgetsOne = await loadWasmDriver('test/fixtures/lifecycle/forgets-one.c');
const forgetsTwo = await loadWasmDriver('test/fixtures/lifecycle/forgets-two.c');
const noRollback = await loadWasmDriver('test/fixtures/lifecycle/no-rollback.c');

const unloadThenCreate: Scenario['ops'] = [{ op: 'UnloadDriver' }, { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }];

describe('a routine left registered is one finding', () => {
  test('the residue at unload and the 0xCE it causes have one signature, naming the routine and who left it', () => {
    for (const build of ['winxp-x86', 'win10-x64']) {
      const r = runAndCheck(forgetsOne, scenario(build, unloadThenCreate));
      expect(r.violations.map((v) => v.invariant).sort()).toEqual(['no-bugcheck', 'unload-clean']);
      const sigs = new Set(r.violations.map((v) => signatureOf(v, r.record)));
      expect([...sigs]).toEqual(['unregister|-|-|process notify OnProcess is left registered by DriverUnload']);
    }
  });

  test('a campaign reports it once: the 0xCE alone signs as the residue does, and both together are one finding', () => {
    const opts = { driver: forgetsOne, seed: 1, runs: 1000, builds: ['win10-x64', 'winxp-x86'], cpus: 1 };
    const ce = fuzz({ ...opts, invariants: [getInvariant('no-bugcheck')] });
    expect(ce.findings.map((f) => f.signature)).toEqual(['unregister|-|-|process notify OnProcess is left registered by DriverUnload']);
    expect(ce.findings[0].violations[0].message).toMatch(/^STOP 0x000000CE .*OnProcess/);
    const both = fuzz(opts);
    expect(both.findings.map((f) => f.signature)).toEqual(['unregister|-|-|process notify OnProcess is left registered by DriverUnload']);
  });

  test('on several CPUs, the 0xCE of a call still running when DriverUnload returned is the same finding as the routine left', async () => {
    const broken = await loadWasmDriver('examples/drivers/multifile', { configuration: 'Broken', fibers: true });
    const ce = fuzz({ driver: broken, seed: 1, runs: 300, builds: ['win10-x64', 'winxp-x86'], cpus: 4, invariants: [getInvariant('no-bugcheck')] });
    expect(ce.findings.map((f) => f.signature)).toEqual(['unregister|-|-|image notify MfOnImage is left registered by DriverUnload']);
    // the runs where the routine was still running at DriverUnload's return sign the same
    let running = 0;
    for (const sc of fc.sample(scenarioArbitrary({ builds: ['win10-x64'], cpus: 4, weights: { ...DEFAULT_WEIGHTS, unload: 6, image: 6 } }), { seed: 7, numRuns: 150 })) {
      const r = runAndCheck(broken, sc, [getInvariant('no-bugcheck')]);
      if (!/DriverUnload returned while MfOnImage .* was still running/.test(r.record.bugCheck?.reason ?? '')) continue;
      running++;
      expect(signatureOf(r.violations[0], r.record)).toBe('unregister|-|-|image notify MfOnImage is left registered by DriverUnload');
    }
    expect(running).toBeGreaterThan(0);
    // a routine DriverUnload did remove cannot be running then: an in-flight dispatch it did not wait for is its own bug
    const noWait = await loadWasmDriver('examples/drivers/proctable-unload-no-wait.c', { fibers: true });
    const own = fuzz({ driver: noWait, seed: 1, runs: 500, cpus: 4, invariants: [getInvariant('no-bugcheck')] });
    expect(own.findings.length).toBeGreaterThan(0);
    for (const f of own.findings) expect(f.signature).not.toMatch(/^unregister/);
  }, 300_000);

  test('two routines left are two findings, not one and not one per symptom', () => {
    const r = fuzz({ driver: forgetsTwo, seed: 1, runs: 1000, builds: ['win10-x64', 'winxp-x86'], cpus: 1 });
    expect(r.findings.map((f) => f.signature).sort()).toEqual([
      'unregister|-|-|image notify OnImage is left registered by DriverUnload',
      'unregister|-|-|process notify OnProcess is left registered by DriverUnload',
    ]);
    const one = runAndCheck(forgetsTwo, scenario('win10-x64', [{ op: 'UnloadDriver' }]));
    expect(one.violations.map((v) => v.message)).toEqual(['after DriverUnload: process notify OnProcess (slot 0)', 'after DriverUnload: image notify OnImage (slot 0)']);
  });

  test('what an earlier load left is not the next load\'s residue: a reload that fails is not blamed for it', () => {
    // the stale OnProcess of the first load fills the last free slot: the reload's registration fails for real
    const r = runAndCheck(forgetsOne, scenario('winxp-x86', [{ op: 'UnloadDriver' }, { op: 'LoadDriver' }, { op: 'UnloadDriver' }], { crowding: { process: 7, thread: 0, image: 0 } }));
    const entries = r.record.phases.filter((p) => p.phase === 'DriverEntry');
    expect(entries.map((p) => p.status)).toEqual(['STATUS_SUCCESS', 'STATUS_INVALID_PARAMETER']);
    expect(r.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual(['unload-clean: after DriverUnload: process notify OnProcess (slot 7)']);
  });

  test('a failed DriverEntry\'s path that undoes nothing is one finding, with the 0xCE through what it left', () => {
    const failImage = { faults: [{ ddi: 'PsSetLoadImageNotifyRoutine', nth: 1, status: STATUS_INSUFFICIENT_RESOURCES }] };
    const r = runAndCheck(noRollback, scenario('win10-x64', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }], failImage));
    expect(r.violations.map((v) => v.invariant).sort()).toEqual(['failed-entry-clean', 'no-bugcheck']);
    expect([...new Set(r.violations.map((v) => signatureOf(v, r.record)))]).toEqual(['rollback|-|-|the failed DriverEntry\'s path after PsSetLoadImageNotifyRoutine fails does not undo what came before']);
    const f = fuzz({ driver: noRollback, seed: 1, runs: 2000, builds: ['win10-x64', 'winxp-x86'], cpus: 1 });
    expect(f.findings.map((x) => x.signature)).toEqual(['rollback|-|-|the failed DriverEntry\'s path after PsSetLoadImageNotifyRoutine fails does not undo what came before']);
  });
});

describe('concurrency findings by the variables and locks of the source', () => {
  test('a race names the variable (DWARF), the same on x86 and x64: one signature for both builds', async () => {
    const nolock = await loadWasmDriver('examples/drivers/proctable-nolock.c', { fibers: true });
    const sigs = new Map<string, string>();
    for (const build of ['win10-x86', 'win10-x64']) {
      const r = fuzz({ driver: nolock, seed: 2, runs: 1000, cpus: 4, builds: [build], invariants: [getInvariant('no-data-race')] });
      const global = r.findings.find((f) => /proctable-nolock!gBuckets/.test(f.violations[0].message));
      expect(global, build).toBeDefined();
      expect(global?.violations[0].message).toMatch(/^data race on proctable-nolock!gBuckets(\+0x[0-9A-F]+)? between OnProcess and OnThread/);
      sigs.set(build, global?.signature ?? '');
    }
    expect(sigs.get('win10-x86')).toBe(sigs.get('win10-x64'));
  }, 120_000);

  test('a lock-order inversion is one finding whichever routines show it, and the deadlock it causes is the same finding', async () => {
    const inverted = await loadWasmDriver('examples/drivers/proctable-lock-order.c', { fibers: true });
    const opts = { driver: inverted, seed: 1, runs: 1000, cpus: 4, builds: ['win10-x64', 'win10-x86'] };
    const want = 'lock-order|-|-|proctable-lock-order!gQueueLock and proctable-lock-order!gTableLock are acquired in both orders';
    const both = fuzz({ ...opts, invariants: [getInvariant('lock-order-consistent'), getInvariant('no-deadlock')] });
    expect(both.findings.map((f) => f.signature)).toEqual([want]);
    const deadlock = fuzz({ ...opts, invariants: [getInvariant('no-deadlock')] });
    expect(deadlock.findings.map((f) => f.signature)).toEqual([want]);
    // the access records name the locks held
    const order = fuzz({ ...opts, invariants: [getInvariant('lock-order-consistent')] });
    expect(order.findings[0].violations[0].message).toMatch(/takes 0x[0-9A-F]+ \(proctable-lock-order!g(Table|Queue)Lock\) then/);
  }, 120_000);
});

describe('a race is one finding whichever of its two accesses came first', () => {
  test('the read-then-write and the write-then-read of one variable by the same two routines share a signature', async () => {
    const { reference } = await import('../../src/driver/index.js');
    const { simulate } = await import('../../src/model/index.js');
    const base = simulate(reference, scenario('win10-x64', []));
    const read = { op: 0, cpu: 0, routine: 'PreWrite', access: 'read' as const, size: 4, locks: [], step: 3, line: 'instcount.c:25' };
    const write = { op: 1, cpu: 1, routine: 'DriverUnload', access: 'write' as const, size: 4, locks: [], step: 5, line: 'instcount.c:47' };
    const signatures = [[read, write], [write, read]].map(([first, second]) => {
      const record = { ...base, concurrency: { schedule: { cpus: 2, kind: 'pct' as const }, timeline: [], races: [{ address: '0x1B0A0', what: 'instcount!gCount', first, second }], lockOrder: [] } };
      const [v] = getInvariant('no-data-race').check({ record, logged: [] });
      return signatureOf(v, record);
    });
    expect(signatures[0]).toBe('no-data-race|-|-|data race on instcount!gCount between DriverUnload and PreWrite');
    expect(signatures[1]).toBe(signatures[0]);
  });
});
