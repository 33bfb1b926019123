/**
 * DRIVER_OBJECT.DriverSection (issue 22): the image's KLDR_DATA_TABLE_ENTRY in the kernel's memory, with the
 * documented x86 and x64 layouts. Reading it works on every build; writing it (`Flags |= 0x20`, the /INTEGRITYCHECK
 * trick) is a verifier stop naming the field, where the NULL it used to be gave a false 0x50 and hid the write.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import { KLDR_DATA_TABLE_ENTRY } from '../../src/model/mm/loader-entry.js';
import { scenario } from '../helpers.js';

const BUILDS = ['win2000-x86', 'winxp-x86', 'win7-x86', 'win10-x86', 'win7-x64', 'win10-x64', 'win11-x64'];
const FIXTURE = 'test/fixtures/loader/driver-section.c';

let reader: DriverModule;
let writer: DriverModule;
beforeAll(async () => {
  reader = await loadWasmDriver(FIXTURE);
  writer = await loadWasmDriver(FIXTURE, { defines: { PSH_FORCE_INTEGRITY: '1' }, name: 'driver-section' });
}, 240_000);

describe('DriverSection: the loader entry of the driver\'s image', () => {
  test('the layouts: DllBase to LoadCount at the documented offsets', () => {
    const at = (ps: 4 | 8, name: string): number | undefined => KLDR_DATA_TABLE_ENTRY[ps].fields.find((f) => f[0] === name)?.[1];
    expect([at(4, 'DllBase'), at(4, 'SizeOfImage'), at(4, 'FullDllName'), at(4, 'BaseDllName'), at(4, 'Flags')]).toEqual([0x18, 0x20, 0x24, 0x2c, 0x34]);
    expect([at(8, 'DllBase'), at(8, 'SizeOfImage'), at(8, 'FullDllName'), at(8, 'BaseDllName'), at(8, 'Flags')]).toEqual([0x30, 0x40, 0x48, 0x58, 0x68]);
  });

  test.each(BUILDS)('%s: read, it names the image and agrees with DriverStart and DriverSize; the driver loads', (build) => {
    const r = runAndCheck(reader, scenario(build, []), INVARIANTS);
    expect(r.record.bugCheck ?? null).toBeNull();
    expect(r.record.verifierStop ?? null).toBeNull();
    expect(r.violations).toEqual([]);
    expect(r.record.phases.find((p) => p.phase === 'DriverEntry')?.prints.map((p) => p.text).join('')).toContain('loaded as driver-section.sys (\\SystemRoot\\System32\\drivers\\driver-section.sys), flags 0x4000');
  });

  test.each(BUILDS)('%s: Flags |= 0x20 is a write into the kernel\'s memory, named by field', (build) => {
    const r = runAndCheck(writer, scenario(build, []), INVARIANTS);
    expect(r.record.bugCheck ?? null).toBeNull();
    expect(r.record.verifierStop?.check).toBe('kernel-memory-owned');
    expect(r.record.verifierStop?.reason).toMatch(build.endsWith('x64') ? /KLDR_DATA_TABLE_ENTRY at .*, field Flags \(\+0x68\)/ : /KLDR_DATA_TABLE_ENTRY at .*, field Flags \(\+0x34\)/);
    expect(r.violations.map((v) => v.invariant)).toContain('kernel-memory-owned');
  });
});
