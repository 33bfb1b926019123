import { describe, expect, test } from 'vitest';
import { reference, wssprocmon, linesOf } from '../../src/driver/index.js';
import { simulate, type Op, STATUS_INSUFFICIENT_RESOURCES } from '../../src/model/index.js';
import { scenario } from '../helpers.js';

const notepad: Op[] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: '\\Device\\HarddiskVolume1\\Windows\\notepad.exe' },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'LoadImage', process: 'P1', path: '\\Device\\HarddiskVolume1\\Windows\\System32\\kernel32.dll' },
  { op: 'ExitProcess', process: 'P1' },
];


function allLines(r: ReturnType<typeof simulate>): string[] {
  return r.callbacks.flatMap((c) => linesOf(c.prints));
}

describe('the seed driver on scripted scenarios', () => {
  test('Windows 2000: the name at 0x1fc is right', () => {
    const r = simulate(wssprocmon, scenario('win2000-x86', notepad));
    const lines = allLines(r);
    expect(lines[0]).toMatch(/^CREATE PROCESS = PROCESS NAME: notepad\.exe , PROCESS PARENTID: 8, PROCESS ID: \d+, PROCESS ADDRESS [0-9a-f]+:$/);
    expect(lines[1]).toMatch(/^CREATE THREAD = PROCESS NAME: notepad\.exe PROCESS ID: \d+, THREAD ID: \d+$/);
    expect(r.bugCheck).toBeNull();
  });

  test('Windows XP: the same read returns other bytes', () => {
    const r = simulate(wssprocmon, scenario('winxp-x86', notepad));
    const first = allLines(r)[0];
    expect(first.startsWith('CREATE PROCESS = PROCESS NAME: ')).toBe(true);
    expect(first).not.toContain('notepad.exe');
  });

  test('the image path comes out as one character', () => {
    const r = simulate(wssprocmon, scenario('win2000-x86', notepad));
    const image = allLines(r).filter((l) => l.startsWith('FullImageName: '));
    expect(image[0]).toMatch(/^FullImageName: \\,Process ID: \d+$/);
    expect(image.length).toBe(3); // notepad.exe, ntdll.dll, kernel32.dll
  });

  test('a failing PsSetCreateThreadNotifyRoutine leaves the image routine, device and link; then 0xCE', () => {
    const fault = { ddi: 'PsSetCreateThreadNotifyRoutine', nth: 1, status: STATUS_INSUFFICIENT_RESOURCES };
    const r = simulate(wssprocmon, scenario('win2000-x86', [{ op: 'LoadImage', process: 'System', path: '\\SystemRoot\\System32\\drivers\\other.sys' }], { faults: [fault] }));
    const entry = r.phases.find((p) => p.phase === 'DriverEntry');
    expect(entry?.status).toBe('STATUS_INSUFFICIENT_RESOURCES');
    expect(entry?.prints.map((p) => p.text)).toEqual(['PsSetCreateThreadNotifyRoutine()\n']);
    expect(r.end?.registrations).toEqual([{ kind: 'image', slot: 0, owner: 'wssprocmon', routine: 'ImageCreateMon' }]);
    expect(r.end?.devices).toEqual([{ name: '\\Device\\WssProcMon', owner: 'wssprocmon' }]);
    expect(r.end?.links.map((l) => l.name)).toEqual(['\\DosDevices\\WssProcMon']);
    expect(r.end?.driver.image).toBe('unloaded');
    expect(r.bugCheck?.code).toBe(0xce);
    expect(r.bugCheck?.name).toBe('DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS');
  });

  test('the seed leaks one process reference per callback', () => {
    const r = simulate(wssprocmon, scenario('win2000-x86', notepad));
    const cbs = r.callbacks.filter((c) => c.kind !== 'image');
    // process create, thread create x2, thread exit x2, process exit: each takes one reference and drops none
    expect(cbs.length).toBe(6);
    for (const c of cbs) expect([c.refsTaken, c.refsDropped]).toEqual([1, 0]);
    const p = r.end?.processes.find((x) => x.name === 'notepad.exe');
    expect(p?.driverRefs).toBe(6);
    expect(p?.state).toBe('exited'); // a zombie: its PID is never freed
    expect(p?.pointerCount).toBe(6);
  });

  test('the seed returns the status it reads from the IRP after completing it', () => {
    const r = simulate(wssprocmon, scenario('winxp-x86', [{ op: 'DeviceRequest', major: 'IRP_MJ_CREATE' }]));
    const d = r.phases.find((p) => p.phase === 'Dispatch');
    expect(d?.irp).toEqual({ major: 'IRP_MJ_CREATE', completions: 1, completionStatus: 'STATUS_SUCCESS', returned: '0xDFDFDFDF' });
    // the slot its loop misses stays with the I/O manager, which refuses the request
    const pnp = simulate(reference, scenario('winxp-x86', [{ op: 'DeviceRequest', major: 'IRP_MJ_READ' }]));
    expect(pnp.phases.find((p) => p.phase === 'Dispatch')?.irp).toEqual({ major: 'IRP_MJ_READ', completions: 1, completionStatus: 'STATUS_INVALID_DEVICE_REQUEST', returned: 'STATUS_INVALID_DEVICE_REQUEST' });
  });

  test('the seed cannot be unloaded', () => {
    const r = simulate(wssprocmon, scenario('winxp-x86', [{ op: 'UnloadDriver' }]));
    const u = r.phases.find((p) => p.phase === 'Unload');
    expect(u?.status).toBe('STATUS_INVALID_DEVICE_REQUEST');
    expect(r.end?.driver.image).toBe('loaded');
  });
});

describe('the reference driver on the same scenarios', () => {
  test.each(['win2000-x86', 'winxp-x86', 'win2003-x86', 'win7-x64', 'win10-x64', 'win11-x64'])('%s: right names, full paths, no leaks', (build) => {
    const r = simulate(reference, scenario(build, [...notepad, { op: 'UnloadDriver' }]));
    const lines = allLines(r);
    expect(lines.find((l) => l.startsWith('PROCESS CREATE'))).toMatch(/name=notepad\.exe eprocess=[0-9A-F]+$/);
    expect(lines.filter((l) => l.startsWith('THREAD CREATE')).every((l) => l.endsWith('name=notepad.exe'))).toBe(true);
    expect(lines).toContain(lines.find((l) => l.includes('path=\\Device\\HarddiskVolume1\\Windows\\notepad.exe')));
    for (const c of r.callbacks) expect(c.refsTaken).toBe(c.refsDropped);
    expect(r.end?.processes.find((p) => p.name === 'notepad.exe')?.state).toBe('deleted');
    expect(r.bugCheck).toBeNull();
    if (build === 'win2000-x86') {
      expect(r.end?.driver.image).toBe('loaded'); // no DriverUnload on 2000: it must stay loaded
    } else {
      expect(r.end?.driver.image).toBe('unloaded');
      expect(r.end?.registrations).toEqual([]);
      expect(r.end?.devices).toEqual([]);
      expect(r.end?.links).toEqual([]);
    }
  });

  test('a failing PsSetCreateThreadNotifyRoutine is rolled back completely', () => {
    const fault = { ddi: 'PsSetCreateThreadNotifyRoutine', nth: 1, status: STATUS_INSUFFICIENT_RESOURCES };
    const r = simulate(reference, scenario('winxp-x86', [{ op: 'LoadImage', process: 'System', path: '\\SystemRoot\\x.sys' }], { faults: [fault] }));
    expect(r.end?.registrations).toEqual([]);
    expect(r.end?.devices).toEqual([]);
    expect(r.end?.links).toEqual([]);
    expect(r.bugCheck).toBeNull();
  });
});
