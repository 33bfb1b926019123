import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz, weightsFor } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** examples/drivers/regguard.c: a registry guard of its own service key, and its broken twins. */
let guard: DriverModule;
const twins = new Map<number, DriverModule>();
beforeAll(async () => {
  guard = await loadWasmDriver('examples/drivers/regguard.c');
  for (const n of [1, 2, 3, 4]) twins.set(n, await loadWasmDriver('examples/drivers/regguard.c', { defines: { REGGUARD_BROKEN: String(n) } }));
}, 240_000);

const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\tamper.exe` },
  { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service', name: 'Start' },
  { op: 'RegistryOp', process: 'P1', operation: 'DeleteValue', key: 'service-parameters', name: 'Setting' },
  { op: 'RegistryOp', process: 'P1', operation: 'CreateKey', key: 'service', upperCase: true },
  { op: 'RegistryOp', process: 'P1', operation: 'RenameKey', key: 'service', name: 'Gone' },
  { op: 'RegistryOp', process: 'P1', operation: 'QueryValue', key: 'service', name: 'ImagePath' },
  { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service-sibling', name: 'Start' },
  { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'run', name: 'Updater' },
  { op: 'RegistryOp', process: 'System', operation: 'SetValue', key: 'service', name: 'Start' },
  { op: 'UnloadDriver' },
  { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service', name: 'Start' },
];

describe.each(['win8-x86', 'win10-x64', 'win11-x64'])('regguard.c on %s', (build) => {
  test('denies user-mode writes to its service key and below, and nothing else; unregisters on unload', () => {
    const r = runAndCheck(guard, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.registry?.map((o) => o.status)).toEqual([
      'STATUS_ACCESS_DENIED', 'STATUS_ACCESS_DENIED', 'STATUS_ACCESS_DENIED', 'STATUS_ACCESS_DENIED', // writes by tamper.exe
      'STATUS_SUCCESS', 'STATUS_SUCCESS', 'STATUS_SUCCESS', // a read, another service's key, a Run key
      'STATUS_SUCCESS', // the System process (a kernel-mode caller)
      'STATUS_SUCCESS', // after unload the guard is gone
    ]);
    expect(r.record.registry?.[2].blocked?.notifyClass).toBe('RegNtPreCreateKeyEx');
  });
});

describe('regguard.c when its writer renames the key under a write on another CPU', () => {
  /**
   * System (a writer) renames the service key while tamper.exe's write to it is in its pre-notification on the other
   * CPU: the driver asks the key's name (CmCallbackGetKeyObjectIDEx), gets the new one, and lets the write through —
   * to a key the service no longer reads. The guarded key was not written: no finding (generator format 2 drew this
   * on its first campaign, and registry-guard-exact blamed the guard).
   */
  test('the write lands on the renamed key, and the guard is not blamed', async () => {
    const fibers = await loadWasmDriver('examples/drivers/regguard.c', { fibers: true });
    const race: Scenario = {
      ...scenario('win8-x86', [
        { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
        { op: 'RegistryOp', process: 'System', operation: 'RenameKey', key: 'service', name: 'ImagePathOld' },
        { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service', name: 'ImagePath' },
      ]),
      schedule: { cpus: 2, kind: 'random', seed: 0 },
    };
    const r = runAndCheck(fibers, race, INVARIANTS);
    const write = r.record.registry?.[1];
    expect(write?.target).toMatch(/\\ImagePathOld$/);
    expect(write?.status).toBe('STATUS_SUCCESS');
    expect(r.violations).toEqual([]);
  }, 120_000);
});

describe('regguard.c\'s broken twins are caught by the fuzzer and shrunk, one finding each', () => {
  const campaign = (d: DriverModule) => fuzz({ driver: d, seed: 1, runs: 1000, profile: 'adversarial' });

  test('the guard\'s scenarios draw registry operations; a driver that registers no registry callback draws none', () => {
    expect(weightsFor(guard)?.registry).toBeGreaterThan(0);
    const { x64: _x64, ...x86Only } = guard;
    expect(weightsFor({ ...x86Only, imports: guard.imports.filter((i) => !i.startsWith('Cm')) })).toBeUndefined();
    expect(campaign(guard).findings).toEqual([]);
  });

  test('twin 1 never releases the key\'s name: registry-key-names-released', () => {
    const r = campaign(twins.get(1) as DriverModule);
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['registry-key-names-released']);
    expect(r.findings[0].violations[0].message).toMatch(/^RegistryCallback took \d+ key-object name\(s\) with CmCallbackGetKeyObjectIDEx and never released them/);
    expect(r.findings[0].scenario.ops.map((o) => o.op)).toContain('UnloadDriver');
  });

  test('twin 2 matches a prefix without the separator: it blocks the service whose name begins with its own', () => {
    const r = campaign(twins.get(2) as DriverModule);
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['registry-guard-exact']);
    expect(r.findings[0].violations[0].message).toMatch(/^RegistryCallback blocked \w+ on \\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\regguardHelper/);
  });

  test('twin 3 forgets CmUnRegisterCallback: unload-clean, and the 0xCE or freed-pool read it leads to is the same finding', () => {
    const r = campaign(twins.get(3) as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual(['unregister|-|-|registry callback RegistryCallback at altitude 385200 is left registered by DriverUnload']);
    const ce = fuzz({ driver: twins.get(3) as DriverModule, seed: 1, runs: 1000, invariants: INVARIANTS.filter((i) => i.id === 'no-bugcheck') });
    expect(ce.findings.map((f) => f.signature)).toEqual([r.findings[0].signature]);
  });

  test('twin 4 compares NtCreateKey\'s name case-sensitively: a caller that spells the path in capitals gets through', () => {
    const r = campaign(twins.get(4) as DriverModule);
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['registry-guard-exact']);
    expect(r.findings[0].violations[0].message).toMatch(/^CreateKey on \\REGISTRY\\MACHINE\\SYSTEM\\CURRENTCONTROLSET\\SERVICES\\REGGUARD by .* went through/);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'RegistryOp')).toEqual([expect.objectContaining({ operation: 'CreateKey', upperCase: true })]);
  });
});
