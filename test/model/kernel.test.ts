import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { reference, wssprocmon } from '../../src/driver/index.js';
import {
  BUILDS, CidTable, drive, formatDbgPrint, getBuild, isExported, OUT_OF_BOX_FILTER, selectBuilds, Kernel, KernelMemory, NotifyTable, PROFILES, simulate, statusName,
  STATUS_INVALID_CID, STATUS_INVALID_PARAMETER, type DriverImage, type Scenario, UnknownBuildError, NT_SUCCESS,
} from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const busy: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'CreateProcess', id: 'P2', thread: 'T3', parent: 'P1', path: `${VOL}\\b.exe` },
  { op: 'LoadImage', process: 'P2', path: `${VOL}\\x.dll` },
  { op: 'ExitThread', thread: 'T2' },
  { op: 'ExitProcess', process: 'P1' },
  { op: 'LoadImage', process: 'System', path: '\\SystemRoot\\System32\\drivers\\y.sys' },
  { op: 'UnloadDriver' },
];

describe('determinism', () => {
  test('the same operations twice give identical RunRecords (deep-equal and same hash)', () => {
    for (const build of BUILDS.map((b) => b.id)) {
      for (const d of [wssprocmon, reference]) {
        const a = simulate(d, scenario(build, busy));
        const b = simulate(d, scenario(build, busy));
        expect(b).toEqual(a);
        const h = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');
        expect(h(b)).toBe(h(a));
      }
    }
  });
});

describe('CID table', () => {
  test('IDs are multiples of 4 from one table; reuse order follows the policy', () => {
    const t = new CidTable<string>('lifo');
    const a = t.create('a'), b = t.create('b'), c = t.create('c');
    expect([a, b, c]).toEqual([4, 8, 12]);
    t.destroy(a);
    t.destroy(b);
    expect(t.create('d')).toBe(8); // most recently freed
    const f = new CidTable<string>('fifo');
    const x = f.create('x'), y = f.create('y');
    f.destroy(x);
    f.destroy(y);
    expect(f.create('z')).toBe(x);
    const n = new CidTable<string>('nt52');
    const first = n.create('p');
    n.destroy(first);
    expect(n.create('q')).not.toBe(first); // fewer than 100 free: the table grows instead
  });

  test('a leaked reference keeps the PID; a balanced driver lets it be reused', () => {
    const ops: Scenario['ops'] = [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
      { op: 'ExitProcess', process: 'P1' },
      { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
    ];
    const pids = (d: DriverImage) => simulate(d, scenario('winxp-x86', ops, { reusePolicy: 'lifo' })).end?.processes.map((p) => p.pid);
    const [, p1, p2] = pids(reference) ?? [];
    expect(p2).toBe(p1);
    const [, s1, s2] = pids(wssprocmon) ?? [];
    expect(s2).not.toBe(s1);
  });
});

describe('notify tables and statuses', () => {
  test('a crowded table refuses with the documented status per kind', () => {
    for (const build of ['winxp-x86', 'win10-x64']) {
      const cap = getBuild(build).capacity;
      const r = simulate(reference, scenario(build, [], { crowding: { process: cap.process, thread: 0, image: 0 } }));
      const call = r.phases.find((p) => p.phase === 'DriverEntry')?.ddi.find((d) => d.name === 'PsSetCreateProcessNotifyRoutine');
      expect(call?.status).toBe('STATUS_INVALID_PARAMETER');
      const r2 = simulate(reference, scenario(build, [], { crowding: { process: 0, thread: cap.thread, image: 0 } }));
      expect(r2.phases.find((p) => p.phase === 'DriverEntry')?.ddi.find((d) => d.name === 'PsSetCreateThreadNotifyRoutine')?.status).toBe('STATUS_INSUFFICIENT_RESOURCES');
      expect(r2.end?.registrations).toEqual([]);
    }
  });

  test('registering a process routine twice: two slots on NT 5.x, STATUS_INVALID_PARAMETER from Vista', () => {
    const twice: DriverImage = { name: 'twice', imports: [], instantiate: () => ({
      DriverEntry(ddi) {
        const r = function Twice(): void { ddi.DbgPrint('called\n'); };
        ddi.PsSetCreateProcessNotifyRoutine(r, false);
        return ddi.PsSetCreateProcessNotifyRoutine(r, false);
      },
    }) };
    const ops: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }];
    const xp = simulate(twice, scenario('winxp-x86', ops));
    expect(xp.phases.find((p) => p.phase === 'DriverEntry')?.status).toBe('STATUS_SUCCESS');
    expect(xp.callbacks.filter((c) => c.kind === 'process').length).toBe(2);
    const w7 = simulate(twice, scenario('win7-x86', ops));
    expect(w7.phases.find((p) => p.phase === 'DriverEntry')?.status).toBe('STATUS_INVALID_PARAMETER');
  });

  test('first empty slot, delivery in slot order, removal of an unknown routine', () => {
    const t = new NotifyTable<() => void>('process', 2);
    const f = () => {}, g = () => {}, h = () => {};
    expect(t.register(f, 'a', 'f')).toBe(0);
    expect(t.register(g, 'a', 'g')).toBe(1);
    expect(t.register(h, 'a', 'h')).toBe(-1);
    expect(t.remove(f)).toBe(true);
    expect(t.remove(f)).toBe(false);
    expect(t.register(h, 'a', 'h')).toBe(0);
  });

  test('PsLookupProcessByProcessId of an unknown PID: INVALID_PARAMETER to 2003, INVALID_CID from Vista', () => {
    expect(getBuild('winxp-x86').lookupNotFound).toBe(STATUS_INVALID_PARAMETER);
    expect(getBuild('win7-x64').lookupNotFound).toBe(STATUS_INVALID_CID);
    const r = simulate(wssprocmon, scenario('win10-x64', [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
      { op: 'ExitProcess', process: 'P1', race: 'gone' },
    ], { profile: 'adversarial' }));
    const exitCb = r.callbacks.find((c) => c.kind === 'process' && !c.create);
    expect(exitCb?.ddi[0].status).toBe('STATUS_INVALID_CID');
    expect(exitCb?.prints.map((p) => p.text)).toEqual(['PsLookupProcessByProcessId()\n']);
  });

  test('unknown build ids are refused by name', () => {
    expect(() => getBuild('win95')).toThrow(UnknownBuildError);
    expect(() => getBuild('win95')).toThrow(/unknown OS build 'win95'/);
    expect(() => selectBuilds('win10-x64,win95')).toThrow(/unknown OS build 'win95'/);
    expect(() => selectBuilds('win12-*')).toThrow(/unknown OS build 'win12-\*'/);
  });

  test('--build selections: ids, families, pointer sizes, all and globs, in table order, each once', () => {
    expect(BUILDS.length).toBeGreaterThanOrEqual(20);
    expect(new Set(BUILDS.map((b) => b.id)).size).toBe(BUILDS.length);
    expect(selectBuilds('all')).toEqual(BUILDS.map((b) => b.id));
    expect(selectBuilds('x86')).toEqual(BUILDS.filter((b) => b.pointerSize === 4).map((b) => b.id));
    expect(selectBuilds('x64').every((id) => getBuild(id).pointerSize === 8)).toBe(true);
    expect(selectBuilds('win10-x64*')).toEqual([
      'win10-x64-1507', 'win10-x64-1511', 'win10-x64-1607', 'win10-x64-1703', 'win10-x64-1709', 'win10-x64-1803',
      'win10-x64-1809', 'win10-x64-1903', 'win10-x64-1909', 'win10-x64',
    ]);
    expect(selectBuilds('win11')).toEqual(['win11-x64-21h2', 'win11-x64-22h2', 'win11-x64']);
    expect(selectBuilds('win11-x64, win7-x86,win11-x64')).toEqual(['win7-x86', 'win11-x64']);
    expect(selectBuilds('win10-x??-1809')).toEqual(['win10-x86-1809', 'win10-x64-1809']);
  });

  test('every build cites its offsets, and the identity fields lie inside its EPROCESS', () => {
    for (const b of BUILDS) {
      expect(b.source, b.id).toMatch(/\[GC\]|ntdiff|Vergilius/);
      const e = b.eprocess;
      for (const off of [e.UniqueProcessId, e.ActiveProcessLinks + 2 * b.pointerSize, e.InheritedFromUniqueProcessId, e.ImageFileName + e.ImageFileNameSize]) {
        expect(off, b.id).toBeLessThanOrEqual(e.size);
      }
      expect(e.ActiveProcessLinks, b.id).toBe(e.UniqueProcessId + b.pointerSize); // adjacent in every release ([GC])
    }
  });

  test('exports follow the release, not only the version: Ex2 from 1703, LoadImageEx from 1709, ExAllocatePool2 from 2004', () => {
    const since = (routine: string) => BUILDS.filter((b) => b.pointerSize === 8 && isExported(b, routine)).map((b) => b.id)[0];
    expect(since('PsSetCreateProcessNotifyRoutineEx')).toBe('winvista-x64');
    expect(since('PsSetCreateThreadNotifyRoutineEx')).toBe('win10-x64-1507');
    expect(since('PsSetCreateProcessNotifyRoutineEx2')).toBe('win10-x64-1703');
    expect(since('PsSetLoadImageNotifyRoutineEx')).toBe('win10-x64-1709');
    expect(since('ExAllocatePool2')).toBe('win10-x64');
    expect(isExported(getBuild('win10-x64-1909'), 'ExAllocatePool2')).toBe(false);
    expect(isExported(getBuild('win11-x64-21h2'), 'ExAllocatePool2')).toBe(true);
  });
});

describe('delivery order and context', () => {
  test('process notify, initial thread notify, EXE and ntdll image notifies; thread exits before process exit', () => {
    const r = simulate(reference, scenario('winxp-x86', busy.slice(0, 6)));
    const seq = r.callbacks.filter((c) => c.op === 0).map((c) => `${c.kind}:${c.create}`);
    expect(seq).toEqual(['process:true', 'thread:true', 'image:true', 'image:true']);
    const create = r.callbacks.filter((c) => c.op === 0);
    expect(create[0].context.pid).toBe(getBuild('winxp-x86').systemPid); // creator's context
    expect(create[2].context.pid).toBe(create[0].truth.pid); // EXE image notify in the new process
    const exit = r.callbacks.filter((c) => c.op === 5).map((c) => `${c.kind}:${c.create}`);
    expect(exit).toEqual(['thread:false', 'process:false']);
    const pexit = r.callbacks.filter((c) => c.op === 5)[1];
    expect(pexit.context.pid).toBe(pexit.truth.pid); // process exit in the last thread's context
  });

  test('driver images are notified with ProcessId 0', () => {
    const r = simulate(reference, scenario('win7-x64', [{ op: 'LoadImage', process: 'System', path: '\\SystemRoot\\x.sys' }]));
    expect(r.callbacks[0].args.ProcessId).toBe(0);
    expect(r.callbacks[0].truth.systemImage).toBe(true);
  });
});

describe('memory and bug checks', () => {
  test('reading outside mapped memory is a bug check, not a JavaScript crash', () => {
    const m = new KernelMemory(0x80000000, 4);
    expect(() => m.check(0, 4, false)).toThrow(/PAGE_FAULT_IN_NONPAGED_AREA/);
    const va = m.alloc(32, 'Test', 'kernel');
    expect(m.check(va, 32, false)).toBe(va - 0x80000000);
    m.free(va);
    expect(() => m.check(va, 4, false)).toThrow(/DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL/);
  });

  test('x64 pointers round-trip through memory in canonical form', () => {
    const m = new KernelMemory(0xa780_0000_0000, 8);
    const va = m.alloc(16, 'Test', 'kernel');
    m.setPtr(va, va);
    expect(m.u32(va + 4)).toBe(0xffffa780);
    expect(m.ptr(va)).toBe(va);
    expect(m.format(va)).toBe('0xFFFFA78000001000');
  });

  test('over-dereferencing bug-checks 0x18 when the kernel drops its own reference', () => {
    const doubleDeref = { name: 'dd', imports: [], instantiate: () => ({
      DriverEntry(ddi) {
        ddi.PsSetCreateThreadNotifyRoutine(function Twice(pid: number, _tid: number, create: boolean) {
          if (!create) return;
          const p = { value: 0 };
          if (NT_SUCCESS(ddi.PsLookupProcessByProcessId(pid, p))) {
            ddi.ObDereferenceObject(p.value);
            ddi.ObDereferenceObject(p.value);
          }
        });
        return 0;
      },
    }) } satisfies DriverImage;
    const r = simulate(doubleDeref, scenario('winxp-x86', busy.slice(0, 1).concat([{ op: 'ExitProcess', process: 'P1' }])));
    expect(r.bugCheck?.name).toBe('REFERENCE_BY_POINTER');
  });

  test('a JavaScript exception out of a driver is bug check 0x1E with the message', () => {
    const thrower: DriverImage = { name: 't', imports: [], instantiate: () => ({ DriverEntry() { throw new TypeError('boom'); } }) };
    const r = simulate(thrower, scenario('winxp-x86', []));
    expect(r.bugCheck?.code).toBe(0x1e);
    expect(r.bugCheck?.exception).toBe('TypeError: boom');
    expect(r.bugCheck?.during).toBe('DriverEntry');
  });

  test('a driver importing an XP-only routine does not load on Windows 2000', () => {
    const d: DriverImage = { name: 'x', imports: ['PsRemoveLoadImageNotifyRoutine'], instantiate: () => ({ DriverEntry: () => 0 }) };
    const r = simulate(d, scenario('win2000-x86', []));
    expect(r.phases[0].status).toBe('STATUS_DRIVER_ENTRYPOINT_NOT_FOUND');
    expect(r.phases.some((p) => p.phase === 'DriverEntry')).toBe(false);
  });

  test('the pinned-by-devices profile keeps a failed driver\'s routines firing instead of 0xCE', () => {
    const k = new Kernel({
      build: getBuild('win2000-x86'), profile: { ...PROFILES.documented, leakedDeviceImage: 'pinned-by-devices' }, reusePolicy: 'nt52',
      driver: wssprocmon, faults: [{ ddi: 'PsSetCreateThreadNotifyRoutine', nth: 1, status: 0xc000009a }],
    });
    k.loadDriver();
    expect(k.driverState).toBe('pinned');
    drive(k.ps.lifecycle.loadImageG(null, '\\SystemRoot\\x.sys', 'x.sys'));
    expect(k.halted).toBe(false);
    expect(k.finish().callbacks[0].prints[0].text).toMatch(/^FullImageName: \\,Process ID: 0/);
  });
});

describe('DbgPrint', () => {
  const m = new KernelMemory(0x80000000, 4);
  const ascii = m.alloc(16, 'Str ', 'kernel');
  'notepad.exe'.split('').forEach((c, i) => m.setU8(ascii + i, c.charCodeAt(0)));
  const wide = m.alloc(32, 'Str ', 'kernel');
  'C:\\a'.split('').forEach((c, i) => m.setU16(wide + 2 * i, c.charCodeAt(0)));
  const us = m.alloc(8, 'Str ', 'kernel');
  m.setU16(us, 6);
  m.setU16(us + 2, 8);
  m.setPtr(us + 4, wide);

  test.each([
    ['%s|%5s|%-5s|%.3s', [ascii, ascii, ascii, ascii], 'notepad.exe|notepad.exe|notepad.exe|not'],
    ['%d %i %u %x %X %#x %08x', [-5, 7, -1, 255, 255, 255, 255], '-5 7 4294967295 ff FF 0xff 000000ff'],
    ['%p %c %C %%', [0x8000abcd, 0x41, 0x42], '8000ABCD A B %'],
    ['%ws|%S|%wZ|%s', [wide, wide, us, wide], 'C:\\a|C:\\a|C:\\|C'],
    ['%I64x %d', [0x1234567890n, 9], '1234567890 9'],
    ['%5d|%-5d|%05d|%+d', [42, 42, 42, 42], '   42|42   |00042|+42'],
    ['%s %wZ', [0, 0], '(null) (null)'],
    ['%*d|%.*s', [4, 7, 3, ascii], '   7|not'],
    ['%hd %hx', [0x12345, 0xfffff], '9029 ffff'],
  ] as const)('x86 %s', (fmt, args, want) => {
    expect(formatDbgPrint(m, fmt, [...args]).text).toBe(want);
  });

  test('x64: %x and %d of a pointer print its low 32 bits; %p and %I64x the whole', () => {
    const m64 = new KernelMemory(0xa780_0000_0000, 8);
    const va = m64.alloc(16, 'x', 'kernel');
    expect(formatDbgPrint(m64, '%x|%p|%I64X|%Iu', [va, va, va, 12]).text).toBe('1000|FFFFA78000001000|FFFFA78000001000|12');
  });

  test('the print filter: DbgPrint is unconditional to 2003 and DbgPrintEx(DEFAULT, INFO) from Vista; DbgPrintEx always filtered', () => {
    const talker: DriverImage = {
      name: 'talker', imports: ['DbgPrintEx'],
      instantiate: () => ({
        DriverEntry(ddi) {
          ddi.DbgPrint('plain\n');
          ddi.DbgPrintEx(77, 0, 'error\n');
          ddi.DbgPrintEx(77, 3, 'info\n');
          return 0;
        },
      }),
    };
    const printed = (build: string, filter?: typeof OUT_OF_BOX_FILTER): string[] => {
      const k = new Kernel({ build: getBuild(build), profile: PROFILES.documented, reusePolicy: 'nt52', driver: talker, ...(filter ? { debugPrintFilter: filter } : {}) });
      k.loadDriver();
      const entry = k.finish().phases.find((p) => p.phase === 'DriverEntry');
      return (entry?.prints ?? []).map((p) => p.text.trim());
    };
    expect(printed('win10-x86')).toEqual(['plain', 'error', 'info']); // a test machine's filter: everything
    expect(printed('winxp-x86', OUT_OF_BOX_FILTER)).toEqual(['plain', 'error']);
    expect(printed('win7-x64', OUT_OF_BOX_FILTER)).toEqual(['error']);
    const k = new Kernel({ build: getBuild('win7-x64'), profile: PROFILES.documented, reusePolicy: 'nt52', driver: talker, debugPrintFilter: OUT_OF_BOX_FILTER });
    k.loadDriver();
    const calls = k.finish().phases.find((p) => p.phase === 'DriverEntry')?.ddi ?? [];
    expect(calls.filter((c) => c.result === 'filtered').map((c) => c.name)).toEqual(['DbgPrint', 'DbgPrintEx']);
  });

  test('a call transmits at most 512 bytes', () => {
    const r = formatDbgPrint(m, '%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s',
      new Array(48).fill(ascii));
    expect(r.text.length).toBe(512);
    expect(r.fullLength).toBe(48 * 11);
  });

  test('a bad string pointer faults like the kernel would', () => {
    expect(() => formatDbgPrint(m, '%s', [0x12345678])).toThrow(/PAGE_FAULT_IN_NONPAGED_AREA/);
  });

  test('status names', () => {
    expect(statusName(0xc000009a)).toBe('STATUS_INSUFFICIENT_RESOURCES');
    expect(statusName(0xc0001234)).toBe('0xC0001234');
  });
});

describe("the kernel's own structures are not the driver's to write", () => {
  test.each([
    ['PspCreateProcessNotifyRoutine'], ['PspCreateThreadNotifyRoutine'], ['PspLoadImageNotifyRoutine'], ['PspCidTable (handle table)'], ['pool of OtherDriver0'],
  ])('a store into %s is a verifier stop naming it; a read is allowed', (type) => {
    const k = new Kernel({
      build: getBuild('win10-x64'), profile: PROFILES.documented, reusePolicy: 'nt52', driver: reference,
      crowding: { process: 2, thread: 0, image: 0 },
    });
    const block = k.mem.liveBlocks().find((b) => (b.owner === 'kernel' ? b.type : `${b.type} of ${b.owner}`) === type);
    expect(block, type).toBeDefined();
    const va = (block as { va: number }).va;
    expect(() => k.mem.check(va, 4, false)).not.toThrow();
    expect(() => k.mem.check(va + 8, 4, true)).toThrow(new RegExp(`${type.replace(/[()]/g, '\\$&')} at 0x[0-9A-F]+, field \\+0x8, which it does not own`));
  });

  test('the process notify array holds the other drivers\' entries', () => {
    const k = new Kernel({ build: getBuild('winxp-x86'), profile: PROFILES.documented, reusePolicy: 'nt52', driver: reference, crowding: { process: 3, thread: 0, image: 0 } });
    const arr = k.mem.liveBlocks().find((b) => b.type === 'PspCreateProcessNotifyRoutine') as { va: number; size: number };
    expect(arr.size).toBe(8 * 4);
    expect([0, 1, 2, 3].map((i) => k.mem.u32(arr.va + 4 * i) !== 0)).toEqual([true, true, true, false]);
  });
});
