import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** examples/drivers/fileguard.c: a minifilter guarding the driver's own image on disk, and its broken twins. */
let guard: DriverModule;
const twins = new Map<string, DriverModule>();
beforeAll(async () => {
  guard = await loadWasmDriver('examples/drivers/fileguard.c');
  for (const t of ['everyone', 'reads', 'rename']) twins.set(t, await loadWasmDriver(`examples/drivers/fileguard-${t}.c`));
}, 240_000);

const op = (process: string, operation: 'Create' | 'Write' | 'Read' | 'Rename' | 'Delete', file: 'driver' | 'document-1' = 'driver'): Scenario['ops'][number] => ({ op: 'FileOp', process, operation, file });
const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\tamper.exe` },
  op('P1', 'Read'), op('P1', 'Write'), op('P1', 'Rename'), op('P1', 'Delete'), op('P1', 'Write', 'document-1'),
  op('System', 'Write'), op('System', 'Delete'), op('P1', 'Create'),
];

describe.each(['winvista-x86', 'win7-x64', 'win11-x64'])('fileguard.c on %s', (build) => {
  test('a user-mode caller can read the image but not write, rename, delete or recreate it; the kernel-mode updater can', () => {
    const r = runAndCheck(guard, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.files?.map((f) => `${f.operation} ${f.process} ${f.status}`)).toEqual([
      'Read tamper.exe STATUS_SUCCESS', 'Write tamper.exe STATUS_ACCESS_DENIED', 'Rename tamper.exe STATUS_ACCESS_DENIED', 'Delete tamper.exe STATUS_ACCESS_DENIED',
      'Write tamper.exe STATUS_SUCCESS', 'Write System STATUS_SUCCESS', 'Delete System STATUS_SUCCESS', 'Create tamper.exe STATUS_ACCESS_DENIED',
    ]);
    expect(r.record.files?.filter((f) => f.blocked !== undefined).map((f) => f.blocked?.major)).toEqual(['IRP_MJ_CREATE', 'IRP_MJ_SET_INFORMATION', 'IRP_MJ_SET_INFORMATION', 'IRP_MJ_CREATE']);
  });
});

describe('fileguard.c\'s broken twins are caught, one finding each; the guard passes', () => {
  const campaign = (d: DriverModule) => fuzz({ driver: d, seed: 1, runs: 1000, profile: 'adversarial' });
  test('the guard passes the campaign', () => {
    expect(campaign(guard).findings).toEqual([]);
  });
  test('twin 1 blocks the kernel-mode updater too: the wrong caller blocked', () => {
    const r = campaign(twins.get('everyone') as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual(['file-guard-exact|-|-|an operation the guard does not cover was blocked']);
    expect(r.findings[0].violations[0].message).toMatch(/by System \(pid 4\) with FLT_PREOP_COMPLETE \(STATUS_ACCESS_DENIED\)/);
  });
  test('twin 2 fails a user\'s read of the image as well', () => {
    const r = campaign(twins.get('reads') as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual(['file-guard-exact|-|-|an operation the guard does not cover was blocked']);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'FileOp')).toEqual([expect.objectContaining({ operation: 'Read', file: 'driver' })]);
  });
  test('twin 3 forgets renames: a rename of the image goes through', () => {
    const r = campaign(twins.get('rename') as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual(['file-guard-exact|-|-|a guarded change went through']);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'FileOp')).toEqual([expect.objectContaining({ operation: 'Rename', file: 'driver' })]);
  });
});
