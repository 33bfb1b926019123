import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';
import {
  Kernel, getBuild, OB_FLT_REGISTRATION_VERSION, OB_OPERATION_HANDLE_CREATE, PROFILES, simulate, type DriverImage, type Scenario,
} from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** examples/drivers/obguard.c: ObRegisterCallbacks guarding lsass.exe, and its broken twins. */
let guard: DriverModule;
const twins = new Map<number, DriverModule>();
beforeAll(async () => {
  guard = await loadWasmDriver('examples/drivers/obguard.c');
  for (const n of [1, 2]) twins.set(n, await loadWasmDriver('examples/drivers/obguard.c', { defines: { OBGUARD_BROKEN: String(n) } }));
}, 240_000);

const lsass: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\Windows\\System32\\lsass.exe` },
  { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\dumper.exe` },
  { op: 'OpenHandle', requester: 'P2', target: 'P1', access: 0x1fffff },
  { op: 'OpenHandle', requester: 'P1', target: 'P1', access: 0x1fffff },
  { op: 'OpenHandle', requester: 'System', target: 'P1', access: 0x1fffff, kernelHandle: true },
  { op: 'OpenHandle', requester: 'P2', target: 'P1', access: 0x0410, duplicate: true },
  { op: 'UnloadDriver' },
  { op: 'OpenHandle', requester: 'P2', target: 'P1', access: 0x1fffff },
];

describe.each(['win10-x64', 'win10-x86-1809', 'win11-x64'])('obguard.c on %s', (build) => {
  test('strips terminate and VM rights from other processes\' handles to lsass.exe only; unregisters on unload', () => {
    const r = runAndCheck(guard, scenario(build, lsass), INVARIANTS);
    expect(r.violations).toEqual([]);
    const pre = r.record.phases.filter((p) => p.phase === 'ObjectCallback').map((p) => p.handle);
    expect(pre.map((h) => [h?.operation, h?.requester, h?.kernelHandle, h?.desiredAccess, h?.desiredAccessAfter])).toEqual([
      ['create', 20, false, '0x001FFFFF', '0x001FFFC6'],
      ['create', 12, false, '0x001FFFFF', '0x001FFFFF'], // a process may open itself
      ['create', 4, true, '0x001FFFFF', '0x001FFFFF'], // kernel handles are left alone
      ['duplicate', 20, false, '0x00000410', '0x00000400'],
    ]);
    // after unload the callback is gone: the last open reaches no driver code
    expect(r.record.phases.filter((p) => p.op === 7)).toEqual([]);
  });
});

describe('obguard.c\'s broken twins are caught by the fuzzer and shrunk', () => {
  test('twin 1 ORs the rights in: object-access-stripped-only, two operations', () => {
    const r = fuzz({ driver: twins.get(1) as DriverModule, seed: 1, runs: 1000, invariants: [getInvariant('object-access-stripped-only')] });
    expect(r.findings[0]?.violations[0].message).toMatch(/OnHandle added access 0x[0-9A-F]+ to a process handle request/);
    expect(r.findings[0]?.scenario.ops.map((o) => o.op)).toEqual(['CreateProcess', 'OpenHandle']);
  });

  test('twin 2 forgets ObUnRegisterCallbacks: unload-clean, and 0xCE when a handle is opened after unload — one finding', () => {
    const r = fuzz({ driver: twins.get(2) as DriverModule, seed: 1, runs: 1000 });
    const left = r.findings.filter((f) => f.signature === 'unregister|-|-|object callbacks at altitude 321000 is left registered by DriverUnload');
    expect(left.map((f) => f.invariant.id)).toEqual(['unload-clean']);
    expect(left[0].violations[0].message).toBe('after DriverUnload: object callbacks at altitude 321000');
    expect(r.findings.filter((f) => f.invariant.id === 'no-bugcheck')).toEqual([]);
    // the 0xCE alone is the same bug
    const ce = fuzz({ driver: twins.get(2) as DriverModule, seed: 1, runs: 1000, invariants: [getInvariant('no-bugcheck')] });
    expect(ce.findings.map((f) => f.signature)).toEqual([left[0].signature]);
    expect(ce.findings[0].violations[0].message).toMatch(/0x000000CE .* object pre-operation callback OnHandle \(altitude 321000\) called after obguard\.sys was unloaded/);
  });

  test('the correct guard passes the adversarial profile on every build it loads on', () => {
    const r = fuzz({ driver: guard, seed: 7, runs: 1500, profile: 'adversarial' });
    expect(r.findings.map((f) => `${f.invariant.id}: ${f.violations[0]?.message}`)).toEqual([]);
  });
});

describe('ObRegisterCallbacks statuses', () => {
  const statuses: number[] = [];
  const registrar = (variant: (typeType: number) => Parameters<import('../../src/model/ddi.js').Ddi['ObRegisterCallbacks']>[0][]): DriverImage => ({
    name: 'registrar', imports: ['ObRegisterCallbacks'],
    instantiate: () => ({
      DriverEntry(ddi) {
        const type = ddi.READ_POINTER(ddi.PSH_OBJECT_TYPE_VARIABLE(0));
        for (const reg of variant(type)) statuses.push(ddi.ObRegisterCallbacks(reg, { value: 0 }) >>> 0);
        return 0;
      },
    }),
  });
  const op = (ObjectType: number) => ({ ObjectType, Operations: OB_OPERATION_HANDLE_CREATE, PreOperation: () => 0, PostOperation: null });
  test('version, operations, object type, altitude collision, and an image without /INTEGRITYCHECK', () => {
    const drv = registrar((t) => [
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '1000', RegistrationContext: 0, OperationRegistration: [op(t)] },
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '1000', RegistrationContext: 0, OperationRegistration: [op(t)] },
      { Version: 0x0200, Altitude: '2000', RegistrationContext: 0, OperationRegistration: [op(t)] },
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '2000', RegistrationContext: 0, OperationRegistration: [] },
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '2000', RegistrationContext: 0, OperationRegistration: [op(0x1234)] },
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '2000', RegistrationContext: 0, OperationRegistration: [{ ...op(t), PreOperation: null }] },
    ]);
    statuses.length = 0;
    simulate(drv, scenario('win10-x64', []));
    expect(statuses).toEqual([0, 0xc01c0011, 0xc000000d, 0xc000000d, 0xc000000d, 0xc000000d]);
    statuses.length = 0;
    const k = new Kernel({ build: getBuild('win7-x64'), profile: PROFILES.documented, reusePolicy: 'nt52', driver: registrar((t) => [
      { Version: OB_FLT_REGISTRATION_VERSION, Altitude: '1000', RegistrationContext: 0, OperationRegistration: [op(t)] },
    ]), integrityCheck: false });
    k.loadDriver();
    expect(statuses).toEqual([0xc0000022]);
  });
});
