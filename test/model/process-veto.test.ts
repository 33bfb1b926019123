import { describe, expect, test } from 'vitest';
import { simulate, type DriverImage, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** A process-creation veto: the Ex routine sets CreationStatus to an error for images named bad.exe. */
function vetoer(seen: string[]): DriverImage {
  return {
    name: 'vetoer', imports: ['PsSetCreateProcessNotifyRoutineEx', 'PsSetCreateThreadNotifyRoutine', 'PsSetLoadImageNotifyRoutine'],
    instantiate: () => ({
      DriverEntry(ddi) {
        ddi.PsSetCreateProcessNotifyRoutineEx((_process, pid, info) => {
          seen.push(`${info === 0 ? 'exit' : 'create'} ${pid}`);
          if (info === 0) return;
          const image = ddi.READ_POINTER(info + ddi.PS_CREATE_NOTIFY_INFO.ImageFileName);
          const chars = ddi.READ_USHORT(image) >>> 1;
          const buf = ddi.READ_POINTER(image + ddi.pointerSize);
          let name = '';
          for (let i = 0; i < chars; i++) name += String.fromCharCode(ddi.READ_USHORT(buf + 2 * i));
          if (name.endsWith('\\bad.exe')) ddi.WRITE_ULONG(info + ddi.PS_CREATE_NOTIFY_INFO.CreationStatus, 0xc0000022);
        }, false);
        ddi.PsSetCreateThreadNotifyRoutine((pid, tid, create) => { seen.push(`thread ${create ? 'create' : 'exit'} ${pid}`); });
        ddi.PsSetLoadImageNotifyRoutine((_name, pid) => { seen.push(`image ${pid}`); });
        return 0;
      },
    }),
  };
}

const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\bad.exe` },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'LoadImage', process: 'P1', path: `${VOL}\\x.dll` },
  { op: 'CreateProcess', id: 'P2', thread: 'T3', parent: 'System', path: `${VOL}\\good.exe` },
];

describe('PS_CREATE_NOTIFY_INFO.CreationStatus set to an error stops the process', () => {
  test.each(['win10-x64', 'winvista-x86'])('on %s: the creator gets the status, the process never runs, its exit is announced', (build) => {
    const seen: string[] = [];
    const r = simulate(vetoer(seen), scenario(build, ops));
    const [p1, p2] = r.end?.processes.filter((p) => p.name === 'bad.exe' || p.name === 'good.exe') ?? [];
    // no thread notification for the initial thread (process-first order), no image mapped, the process exit routine
    expect(seen).toEqual([`create ${p1.pid}`, `exit ${p1.pid}`, `create ${p2.pid}`, `thread create ${p2.pid}`, `image ${p2.pid}`, `image ${p2.pid}`]);
    expect(p1).toMatchObject({ state: 'deleted', creationDenied: 'STATUS_ACCESS_DENIED' }); // no reference left: the object is gone
    expect(p2.creationDenied).toBeUndefined();
    expect(r.ops.filter((o) => o.index >= 0).map((o) => o.outcome)).toEqual(['done', 'skipped', 'skipped', 'done']);
    expect(r.events?.map((e) => `${e.kind} ${e.pid}`).filter((e) => e.endsWith(` ${p1.pid}`))).toEqual([`process-create ${p1.pid}`, `process-exit ${p1.pid}`]);
  });
});
