import { describe, expect, test } from 'vitest';
import { fltLayouts, FLT_MAJOR, FLT_POSTOP_MORE_PROCESSING_REQUIRED, FLT_PREOP_COMPLETE, FLT_PREOP_SUCCESS_NO_CALLBACK, FLT_PREOP_SUCCESS_WITH_CALLBACK, FLT_PREOP_SYNCHRONIZE, type FltPostOperation, type FltPreOperation } from '../../src/model/flt/filter-types.js';
import { simulate, type Ddi, type DriverImage, type RunRecord, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const STATUS_ACCESS_DENIED = 0xc0000022;
const STATUS_FLT_DO_NOT_ATTACH = 0xc01c000f;
const STATUS_FLT_DO_NOT_DETACH = 0xc01c0010;

interface Seen { kind: 'pre' | 'post' | 'safe'; major: number; irql: number; pid: number; status?: number }

interface Options {
  /** What the pre-operation returns, by major function (default: with a callback). */
  pre?: (major: number, ddi: Ddi, data: number) => number;
  /** The post-operation's own work. */
  post?: (ddi: Ddi, data: number, objects: number) => number;
  majors?: number[];
  unload?: ((ddi: Ddi, filter: number) => number) | null;
  setup?: number;
  version?: number;
  start?: boolean;
}

/** A minifilter written against the DDIs: it records what each callback saw, and answers as the options say. */
function minifilter(seen: Seen[], o: Options = {}): DriverImage {
  return {
    name: 'fltest', imports: ['FltRegisterFilter'],
    instantiate: () => ({
      DriverEntry(ddi) {
        const L = fltLayouts(ddi.pointerSize);
        const majorOf = (data: number): number => ddi.READ_UCHAR(ddi.READ_POINTER(data + L.data.Iopb) + L.iopb.MajorFunction);
        const pre: FltPreOperation = (data) => {
          const major = majorOf(data);
          seen.push({ kind: 'pre', major, irql: ddi.KeGetCurrentIrql(), pid: ddi.FltGetRequestorProcessId(data) });
          return o.pre?.(major, ddi, data) ?? FLT_PREOP_SUCCESS_WITH_CALLBACK;
        };
        const post: FltPostOperation = (data, objects) => {
          seen.push({ kind: 'post', major: majorOf(data), irql: ddi.KeGetCurrentIrql(), pid: ddi.FltGetRequestorProcessId(data), status: ddi.READ_ULONG(data + L.data.Status) >>> 0 });
          return o.post?.(ddi, data, objects) ?? 0;
        };
        const filter = { value: 0 };
        const st = ddi.FltRegisterFilter(0, {
          Size: 0, Version: o.version ?? 0x202, Flags: 0,
          OperationRegistration: (o.majors ?? [FLT_MAJOR.IRP_MJ_CREATE, FLT_MAJOR.IRP_MJ_WRITE, FLT_MAJOR.IRP_MJ_SET_INFORMATION, FLT_MAJOR.IRP_MJ_CLEANUP])
            .map((m) => ({ MajorFunction: m, Flags: 0, PreOperation: pre, PostOperation: post })),
          FilterUnloadCallback: o.unload === null ? null : () => (o.unload ?? ((d, f) => { d.FltUnregisterFilter(f); return 0; }))(ddi, filter.value),
          InstanceSetupCallback: o.setup === undefined ? null : () => o.setup as number,
        }, filter);
        if (st !== 0) return st;
        return o.start === false ? 0 : ddi.FltStartFiltering(filter.value);
      },
    }),
  };
}

const P1: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` };
const write: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Write', file: 'document-1' };
const statuses = (r: RunRecord): string[] => (r.files ?? []).map((f) => f.status);
const { IRP_MJ_CREATE: CREATE, IRP_MJ_WRITE: WRITE, IRP_MJ_CLEANUP: CLEANUP, IRP_MJ_SET_INFORMATION: SET_INFORMATION } = FLT_MAJOR;

describe('minifilters (FltRegisterFilter) as the filter manager calls them', () => {
  test('a write: create, write, cleanup, each pre then post, in the caller\'s context; post-write at DISPATCH_LEVEL', () => {
    const seen: Seen[] = [];
    const r = simulate(minifilter(seen), scenario('win10-x64', [P1, write]));
    expect(seen.map((s) => `${s.kind} ${s.major}`)).toEqual([`pre ${CREATE}`, `post ${CREATE}`, `pre ${WRITE}`, `post ${WRITE}`, `pre ${CLEANUP}`, `post ${CLEANUP}`]);
    expect(seen.map((s) => s.irql)).toEqual([0, 0, 0, 2, 0, 0]);
    expect(seen.every((s) => s.pid === 12)).toBe(true);
    expect(statuses(r)).toEqual(['STATUS_SUCCESS']);
    expect(r.files?.[0]).toMatchObject({ filtered: true, file: '\\Users\\Alice\\Documents\\budget.xlsx', native: 'STATUS_SUCCESS' });
    expect(r.phases.filter((p) => p.phase === 'FltCallback').map((p) => p.flt?.returned)).toContain('FLT_PREOP_SUCCESS_WITH_CALLBACK');
  });

  test('FLT_PREOP_SYNCHRONIZE: the post-write runs at PASSIVE_LEVEL; _NO_CALLBACK: no post-operation', () => {
    const sync: Seen[] = [];
    simulate(minifilter(sync, { pre: (m) => (m === WRITE ? FLT_PREOP_SYNCHRONIZE : FLT_PREOP_SUCCESS_WITH_CALLBACK) }), scenario('win10-x64', [P1, write]));
    expect(sync.find((s) => s.kind === 'post' && s.major === WRITE)?.irql).toBe(0);
    const none: Seen[] = [];
    simulate(minifilter(none, { pre: () => FLT_PREOP_SUCCESS_NO_CALLBACK }), scenario('win10-x64', [P1, write]));
    expect(none.filter((s) => s.kind === 'post')).toEqual([]);
  });

  test('FLT_PREOP_COMPLETE with an error: the caller gets IoStatus.Status, the file system never sees it, no post-operation', () => {
    const seen: Seen[] = [];
    const deny = (m: number, ddi: Ddi, data: number): number => {
      if (m !== SET_INFORMATION) return FLT_PREOP_SUCCESS_WITH_CALLBACK;
      ddi.WRITE_ULONG(data + fltLayouts(ddi.pointerSize).data.Status, STATUS_ACCESS_DENIED);
      return FLT_PREOP_COMPLETE;
    };
    const del: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Delete', file: 'document-2' };
    const r = simulate(minifilter(seen, { pre: deny }), scenario('win10-x86', [P1, del, { ...del, operation: 'Read' }]));
    expect(statuses(r)).toEqual(['STATUS_ACCESS_DENIED', 'STATUS_SUCCESS']);
    expect(r.files?.[0].blocked).toEqual({ routine: 'pre', major: 'IRP_MJ_SET_INFORMATION', returned: 'FLT_PREOP_COMPLETE (STATUS_ACCESS_DENIED)' });
    expect(seen.filter((s) => s.kind === 'post' && s.major === SET_INFORMATION)).toEqual([]);
  });

  test('a rename moves the file: the old name is gone, a second rename of it fails as the file system says', () => {
    const rename: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Rename', file: 'document-3' };
    const r = simulate(minifilter([]), scenario('win10-x64', [P1, rename, rename, { op: 'FileOp', process: 'P1', operation: 'Create', file: 'temp' }, { op: 'FileOp', process: 'P1', operation: 'Create', file: 'temp' }]));
    expect(statuses(r)).toEqual(['STATUS_SUCCESS', 'STATUS_OBJECT_NAME_NOT_FOUND', 'STATUS_SUCCESS', 'STATUS_OBJECT_NAME_COLLISION']);
  });

  test('FltGetFileNameInformation in a pre-operation: the normalized name, parsed; released twice is bug check 0xC2', () => {
    const names: string[] = [];
    const read = (ddi: Ddi, us: number): string => {
      let s = '';
      for (let i = 0; i < ddi.READ_USHORT(us) / 2; i++) s += String.fromCharCode(ddi.READ_USHORT(ddi.READ_POINTER(us + ddi.pointerSize) + 2 * i));
      return s;
    };
    const take = (twice: boolean) => (m: number, ddi: Ddi, data: number): number => {
      if (m !== WRITE) return FLT_PREOP_SUCCESS_NO_CALLBACK;
      const info = { value: 0 };
      expect(ddi.FltGetFileNameInformation(data, 0x101, info)).toBe(0);
      expect(ddi.FltParseFileNameInformation(info.value)).toBe(0);
      const L = fltLayouts(ddi.pointerSize).name;
      names.push(read(ddi, info.value + L.Name), read(ddi, info.value + L.FinalComponent), read(ddi, info.value + L.Extension), read(ddi, info.value + L.ParentDir));
      ddi.FltReferenceFileNameInformation(info.value);
      ddi.FltReleaseFileNameInformation(info.value);
      ddi.FltReleaseFileNameInformation(info.value);
      if (twice) ddi.FltReleaseFileNameInformation(info.value);
      return FLT_PREOP_SUCCESS_NO_CALLBACK;
    };
    const ok = simulate(minifilter([], { pre: take(false) }), scenario('win10-x86', [P1, write]));
    expect(ok.bugCheck).toBeNull();
    expect(ok.end?.fileNameInfos).toBeUndefined();
    expect(names).toEqual(['\\Device\\HarddiskVolume3\\Users\\Alice\\Documents\\budget.xlsx', 'budget.xlsx', 'xlsx', '\\Users\\Alice\\Documents\\']);
    const bad = simulate(minifilter([], { pre: take(true) }), scenario('win10-x64', [P1, write]));
    expect(bad.bugCheck?.code).toBe(0xc2);
  });

  test('FltGetFileNameInformation in a post-write at DISPATCH_LEVEL is a verifier IRQL violation; FltDoCompletionProcessingWhenSafe defers it to PASSIVE_LEVEL', () => {
    const direct = simulate(minifilter([], { majors: [WRITE], post: (ddi, data) => { ddi.FltGetFileNameInformation(data, 0x101, { value: 0 }); return 0; } }), scenario('win10-x64', [P1, write]));
    expect(direct.bugCheck?.code).toBe(0xc4);
    expect(direct.bugCheck?.reason).toMatch(/FltGetFileNameInformation called at DISPATCH_LEVEL/);
    const irqls: number[] = [];
    const safe: FltPostOperation = (data, _o, _c, _f) => 0;
    const deferred = simulate(minifilter([], {
      majors: [WRITE],
      post: (ddi, data, objects) => {
        const ret = { value: 0 };
        const later: FltPostOperation = (d) => {
          irqls.push(ddi.KeGetCurrentIrql());
          const info = { value: 0 };
          ddi.FltGetFileNameInformation(d, 0x101, info);
          ddi.FltReleaseFileNameInformation(info.value);
          return safe(d, 0, 0, 0);
        };
        expect(ddi.FltDoCompletionProcessingWhenSafe(data, objects, 0, 0, later, ret)).toBe(true);
        return ret.value;
      },
    }), scenario('win10-x64', [P1, write]));
    expect(deferred.bugCheck).toBeNull();
    expect(irqls).toEqual([0]);
    expect(deferred.phases.filter((p) => p.flt?.kind === 'post').map((p) => p.flt?.returned)).toEqual(['FLT_POSTOP_MORE_PROCESSING_REQUIRED']);
    expect(FLT_POSTOP_MORE_PROCESSING_REQUIRED).toBe(1);
  });

  test('a post-operation resumes only the safe routines queued for its own FLT_CALLBACK_DATA (another CPU\'s stay with theirs)', () => {
    const ran: string[] = [];
    const r = simulate(minifilter([], {
      majors: [WRITE],
      post: (ddi, data, objects) => {
        const ret = { value: 0 };
        // what a post-operation on another CPU, switched out mid-way, has queued for its own operation
        ddi.FltDoCompletionProcessingWhenSafe(data + 0x1000, objects, 0, 0, () => (ran.push('the other operation\'s'), 0), { value: 0 });
        ddi.FltDoCompletionProcessingWhenSafe(data, objects, 0, 0, (d) => (ran.push(d === data ? 'its own' : 'wrong data'), 0), ret);
        return ret.value;
      },
    }), scenario('win10-x86', [P1, write]));
    expect(r.bugCheck).toBeNull();
    expect(ran).toEqual(['its own']);
  });

  test('InstanceSetupCallback declining the volume, or a filter never started: no callback, the file system alone', () => {
    for (const o of [{ setup: STATUS_FLT_DO_NOT_ATTACH }, { start: false }]) {
      const seen: Seen[] = [];
      const r = simulate(minifilter(seen, o), scenario('win10-x64', [P1, write]));
      expect(seen).toEqual([]);
      expect(r.files?.[0]).toMatchObject({ filtered: false, status: 'STATUS_SUCCESS' });
    }
  });

  test('FltRegisterFilter: a registration of an unknown version is STATUS_INVALID_PARAMETER; a fault plan fails it', () => {
    const r = simulate(minifilter([], { version: 0x100 }), scenario('win10-x64', [P1, write]));
    expect(r.phases.find((p) => p.phase === 'DriverEntry')?.status).toBe('STATUS_INVALID_PARAMETER');
    const f = simulate(minifilter([]), scenario('win10-x64', [P1, write], { faults: [{ ddi: 'FltRegisterFilter', nth: 1, status: 0xc000009a }] }));
    expect(f.phases.find((p) => p.phase === 'DriverEntry')?.status).toBe('STATUS_INSUFFICIENT_RESOURCES');
  });

  test('unload through FilterUnloadCallback: it unregisters, nothing is left; STATUS_FLT_DO_NOT_DETACH keeps the driver; without one it cannot unload', () => {
    const clean = simulate(minifilter([]), scenario('win10-x64', [P1, { op: 'UnloadDriver' }, write]));
    expect(clean.phases.find((p) => p.phase === 'DriverUnload')?.residue?.registrations).toEqual([]);
    expect(clean.files?.[0].filtered).toBe(false);
    const stays: Seen[] = [];
    const kept = simulate(minifilter(stays, { unload: () => STATUS_FLT_DO_NOT_DETACH }), scenario('win10-x64', [P1, { op: 'UnloadDriver' }, write]));
    expect(kept.phases.find((p) => p.phase === 'DriverUnload')).toMatchObject({ outcome: 'refused', status: 'STATUS_FLT_DO_NOT_DETACH' });
    expect(stays.length).toBeGreaterThan(0);
    const never = simulate(minifilter([], { unload: null }), scenario('win10-x64', [P1, { op: 'UnloadDriver' }]));
    expect(never.phases.find((p) => p.phase === 'Unload')).toMatchObject({ outcome: 'refused', note: 'FilterUnloadCallback is NULL: the filter manager cannot unload the minifilter' });
  });

  test('a filter left registered at unload: its residue, then bug check 0xCE at the next file operation; FltUnregisterFilter twice is 0x50', () => {
    const left = simulate(minifilter([], { unload: () => 0 }), scenario('win10-x64', [P1, { op: 'UnloadDriver' }, write]));
    expect(left.phases.find((p) => p.phase === 'DriverUnload')?.residue?.registrations).toEqual(['minifilter at altitude 370020']);
    expect(left.bugCheck?.code).toBe(0xce);
    const twice = simulate(minifilter([], { unload: (ddi, f) => { ddi.FltUnregisterFilter(f); ddi.FltUnregisterFilter(f); return 0; } }), scenario('win10-x64', [P1, { op: 'UnloadDriver' }]));
    expect(twice.bugCheck?.code).toBe(0x50);
  });

  test('a name held at unload is in the end state, with the unload that left it', () => {
    const keep = (m: number, ddi: Ddi, data: number): number => {
      if (m === WRITE) ddi.FltGetFileNameInformation(data, 0x101, { value: 0 });
      return FLT_PREOP_SUCCESS_NO_CALLBACK;
    };
    const r = simulate(minifilter([], { pre: keep }), scenario('win10-x64', [P1, write, { op: 'UnloadDriver' }]));
    expect(r.end?.fileNameInfos).toMatchObject([{ file: '\\Device\\HarddiskVolume3\\Users\\Alice\\Documents\\budget.xlsx', routine: 'pre', refs: 1 }]);
    expect(r.end?.fileNameInfos?.[0].unload).toBeDefined();
  });

  test('the routines are not exported before Vista: the driver does not load on Windows XP', () => {
    const r = simulate(minifilter([]), scenario('winxp-x86', [P1, write]));
    expect(r.phases.find((p) => p.phase === 'Load')?.outcome).toBe('refused');
    expect(r.files?.[0].filtered).toBe(false);
  });

  test('the routines\' error paths: an unknown filter, an unknown callback data, a bad name format, a faulted name; safe processing at PASSIVE_LEVEL runs at once', () => {
    const got: Record<string, unknown> = {};
    const probe = (m: number, ddi: Ddi, data: number): number => {
      if (m !== WRITE) return FLT_PREOP_SUCCESS_WITH_CALLBACK;
      got.start = ddi.FltStartFiltering(0x1234);
      got.unknownData = ddi.FltGetFileNameInformation(0x1234, 0x101, { value: 0 });
      got.badFormat = ddi.FltGetFileNameInformation(data, 0x109, { value: 0 });
      got.faulted = ddi.FltGetFileNameInformation(data, 0x101, { value: 0 });
      got.pid = ddi.FltGetRequestorProcessId(0x1234);
      const ret = { value: 7 };
      got.safe = ddi.FltDoCompletionProcessingWhenSafe(data, 0, 0, 0, () => 0, ret);
      got.ret = ret.value;
      return FLT_PREOP_SUCCESS_NO_CALLBACK;
    };
    const seen: Seen[] = [];
    const r = simulate(minifilter(seen, { pre: probe }), scenario('win10-x64', [P1, write], { faults: [{ ddi: 'FltGetFileNameInformation', nth: 1, status: 0xc000009a }] }));
    expect(got).toEqual({ start: 0xc000000d, unknownData: 0xc000000d, badFormat: 0xc000000d, faulted: 0xc000009a, pid: 0, safe: true, ret: 0 });
    expect(r.bugCheck).toBeNull();
    expect(seen.filter((s) => s.kind === 'post' && s.major === WRITE)).toEqual([]);
  });

  test('a pre-operation that returns no FLT_PREOP_CALLBACK_STATUS is recorded as such; FltStartFiltering twice attaches once', () => {
    const r = simulate(minifilter([], { pre: (m) => (m === WRITE ? 9 : FLT_PREOP_SUCCESS_WITH_CALLBACK) }), scenario('win10-x86', [P1, write]));
    expect(r.phases.map((p) => p.flt?.returned)).toContain('9 (not an FLT_PREOP_CALLBACK_STATUS)');
    const twice: DriverImage = {
      name: 'twice', imports: ['FltRegisterFilter'],
      instantiate: () => ({
        DriverEntry(ddi) {
          const f = { value: 0 };
          ddi.FltRegisterFilter(0, { Size: 0, Version: 0x203, Flags: 0, OperationRegistration: [], FilterUnloadCallback: null, InstanceSetupCallback: null }, f);
          ddi.FltStartFiltering(f.value);
          return ddi.FltStartFiltering(f.value);
        },
      }),
    };
    const t = simulate(twice, scenario('win10-x64', [P1, write]));
    expect(t.phases.find((p) => p.phase === 'DriverEntry')?.ddi.filter((d) => d.name === 'FltStartFiltering').map((d) => d.result)).toEqual(['instance on \\Device\\HarddiskVolume3', undefined]);
    expect(t.files?.[0].filtered).toBe(true);
  });
});
