import { beforeAll, describe, expect, test } from 'vitest';
import { linesOf, type DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { simulate, type Scenario } from '../../src/model/index.js';
import { scenario } from '../helpers.js';

let drv: DriverModule;
beforeAll(async () => {
  drv = await loadWasmDriver('test/fixtures/shimcheck.c');
}, 120_000);

describe.each(['win10-x86', 'win10-x64'])('the WDK shim from C on %s', (build) => {
  const sc = (ops: Scenario['ops']): Scenario => scenario(build, ops);
  test('runtime routines, version, pool, strsafe, dynamic routines and the Ex registrations', () => {
    const r = simulate(drv, sc([
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: '\\Device\\HarddiskVolume1\\Windows\\a.exe' },
      { op: 'CreateThread', id: 'T2', process: 'P1' },
      { op: 'UnloadDriver' },
    ]));
    expect(r.bugCheck).toBeNull();
    const entry = r.phases.find((p) => p.phase === 'DriverEntry');
    expect(entry?.status).toBe('STATUS_SUCCESS');
    expect(linesOf(entry?.prints ?? [])).toEqual([
      'registry \\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\shimcheck',
      'compare ci=0 cs=gt equal=1',
      'copy Alpha len=10',
      'version 10.0.19045',
      'strsafe ntstrsafe 9 00000000 4 5',
      'truncated ove 80000005',
      'pool2 zeroed=1 uninit=cd irql=0',
      'system pid via pointer 4, current 4',
      `missing routine ${build.endsWith('x64') ? '0000000000000000' : '00000000'}`,
      'ex2 bad type c000000d',
      'imageEx bad flags c00000f0',
    ]);
    const out = r.callbacks.flatMap((c) => linesOf(c.prints));
    expect(out[0]).toMatch(/^ex2 start 12 image=\\Device\\HarddiskVolume1\\Windows\\a\.exe cmd="\\Device\\HarddiskVolume1\\Windows\\a\.exe" open=1$/);
    // PsCreateThreadNotifyNonSystem: the create notify runs on the new thread
    expect(out).toContain('thread 16 of 12 in context pid=12 tid=16');
    expect(out).toContain('thread 20 of 12 in context pid=12 tid=20');
    expect(out.some((l) => l.startsWith('imageEx 12 system=0 \\Device\\HarddiskVolume1\\Windows\\a.exe'))).toBe(true);
    expect(linesOf(r.phases.find((p) => p.phase === 'DriverUnload')?.prints ?? [])).toEqual(['unloaded after 2 thread notes']);
    expect(r.end?.registrations).toEqual([]);
    for (const c of r.callbacks) expect(c.refsTaken).toBe(c.refsDropped);
  });
});
