import { describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import { FLT_MAJOR, FLT_PREOP_COMPLETE, FLT_PREOP_PENDING, FLT_PREOP_SUCCESS_NO_CALLBACK, FLT_PREOP_SUCCESS_WITH_CALLBACK, fltLayouts } from '../../src/model/flt/filter-types.js';
import { simulate, type Ddi, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const STATUS_ACCESS_DENIED = 0xc0000022;

interface Options {
  /** What the work routine resumes the operation with (undefined: it never does). */
  resume?: number;
  /** The pre-operation queues no work item (and pends anyway). */
  noWork?: boolean;
  /** The work routine frees its work item (default true). */
  free?: boolean;
  /** The work routine resumes the operation twice. */
  twice?: boolean;
}

/** A minifilter whose pre-create pends every create to a deferred-I/O work item; it logs what ran where. */
function pender(log: string[], o: Options): DriverModule {
  return {
    name: 'fltpend', imports: ['FltRegisterFilter'], description: 'a minifilter that pends its creates', logsEvents: false, parse: () => [],
    instantiate: () => ({
      DriverEntry(ddi: Ddi) {
        const L = fltLayouts(ddi.pointerSize);
        const filter = { value: 0 };
        const named = <F extends object>(name: string, f: F): F => Object.defineProperty(f, 'name', { value: name });
        const work = named('ResumeCreate', (item: number, data: number, context: number) => {
          log.push(`work irql=${ddi.KeGetCurrentIrql()} pid=${ddi.PsGetCurrentProcessId()} context=0x${context.toString(16)}`);
          if (o.resume === FLT_PREOP_COMPLETE) ddi.WRITE_ULONG(data + L.data.Status, STATUS_ACCESS_DENIED);
          if (o.resume !== undefined) ddi.FltCompletePendedPreOperation(data, o.resume, o.resume === FLT_PREOP_SUCCESS_WITH_CALLBACK ? 0x5150 : 0);
          if (o.twice === true) ddi.FltCompletePendedPreOperation(data, FLT_PREOP_SUCCESS_NO_CALLBACK, 0);
          if (o.free !== false) ddi.FltFreeDeferredIoWorkItem(item);
        });
        const st = ddi.FltRegisterFilter(0, {
          Size: 0, Version: 0x202, Flags: 0,
          OperationRegistration: [{
            MajorFunction: FLT_MAJOR.IRP_MJ_CREATE, Flags: 0,
            PreOperation: named('PreCreate', (data: number) => {
              if (o.noWork !== true) {
                const item = ddi.FltAllocateDeferredIoWorkItem();
                const queued = ddi.FltQueueDeferredIoWorkItem(item, data, work, 1, 0x77) >>> 0;
                log.push(`queued 0x${queued.toString(16)}, again 0x${(ddi.FltQueueDeferredIoWorkItem(item, data, work, 1, 0x77) >>> 0).toString(16)}`);
              }
              return FLT_PREOP_PENDING;
            }),
            PostOperation: named('PostCreate', (_data: number, _objects: number, context: number) => {
              log.push(`post context=0x${context.toString(16)}`);
              return 0;
            }),
          }],
          FilterUnloadCallback: () => {
            ddi.FltUnregisterFilter(filter.value);
            return 0;
          },
          InstanceSetupCallback: null,
        }, filter);
        return st !== 0 ? st : ddi.FltStartFiltering(filter.value);
      },
    }),
  };
}

const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'FileOp', process: 'P1', operation: 'Write', file: 'document-1' },
];

describe('a pre-operation that pends (FLT_PREOP_PENDING) and a deferred-I/O work item that resumes it', () => {
  test('resumed with a callback: the work routine runs at PASSIVE_LEVEL in the System process; the post-operation gets its context', () => {
    const log: string[] = [];
    const r = runAndCheck(pender(log, { resume: FLT_PREOP_SUCCESS_WITH_CALLBACK }), scenario('win10-x64', [...ops, { op: 'UnloadDriver' }]), INVARIANTS);
    expect(log).toEqual(['queued 0x0, again 0xc000000d', 'work irql=0 pid=4 context=0x77', 'post context=0x5150']);
    expect(r.record.files?.map((f) => f.status)).toEqual(['STATUS_SUCCESS']);
    expect(r.record.phases.filter((p) => p.flt?.kind === 'work-item').map((p) => p.flt?.routine)).toEqual(['ResumeCreate']);
    expect(r.violations).toEqual([]);
  });

  test('resumed with FLT_PREOP_COMPLETE: the caller gets the status the filter set, and no post-operation runs', () => {
    const log: string[] = [];
    const r = simulate(pender(log, { resume: FLT_PREOP_COMPLETE }), scenario('win10-x86', ops));
    expect(r.files?.map((f) => f.status)).toEqual(['STATUS_ACCESS_DENIED']);
    expect(log.some((l) => l.startsWith('post'))).toBe(false);
  });

  test('pended and never resumed, with a work item or without: the caller waits forever (routine-returns)', () => {
    for (const o of [{ noWork: true }, {}] as Options[]) {
      const r = runAndCheck(pender([], o), scenario('win10-x64', ops), INVARIANTS);
      expect(r.violations.map((v) => v.invariant)).toEqual(['routine-returns']);
      expect(r.violations[0].message).toMatch(/^PreCreate returned FLT_PREOP_PENDING and nothing called FltCompletePendedPreOperation: the caller waits forever \(IRP_MJ_CREATE of .*budget\.xlsx\)/);
    }
  });

  test('FltQueueDeferredIoWorkItem refuses what is not a work item and what is not an operation in progress', () => {
    const got: number[] = [];
    const probe: DriverModule = {
      name: 'fltq', imports: ['FltRegisterFilter'], description: 'queues badly', logsEvents: false, parse: () => [],
      instantiate: () => ({
        DriverEntry(ddi: Ddi) {
          const item = ddi.FltAllocateDeferredIoWorkItem();
          got.push(ddi.FltQueueDeferredIoWorkItem(0x1234, 0x5678, () => undefined, 1, 0) >>> 0, ddi.FltQueueDeferredIoWorkItem(item, 0x5678, () => undefined, 1, 0) >>> 0);
          ddi.FltFreeDeferredIoWorkItem(item);
          return 0;
        },
      }),
    };
    expect(simulate(probe, scenario('win10-x64', [])).bugCheck).toBeNull();
    expect(got).toEqual([0xc000000d, 0xc000000d]);
  });

  test('a work item queued without pending runs after its operation ended: its FLT_CALLBACK_DATA is freed memory', () => {
    const late: DriverModule = {
      name: 'fltlate', imports: ['FltRegisterFilter'], description: 'posts work it does not pend', logsEvents: false, parse: () => [],
      instantiate: () => ({
        DriverEntry(ddi: Ddi) {
          const filter = { value: 0 };
          const st = ddi.FltRegisterFilter(0, {
            Size: 0, Version: 0x202, Flags: 0,
            OperationRegistration: [{
              MajorFunction: FLT_MAJOR.IRP_MJ_WRITE, Flags: 0, PostOperation: null,
              PreOperation: (data: number) => {
                const item = ddi.FltAllocateDeferredIoWorkItem();
                ddi.FltQueueDeferredIoWorkItem(item, data, (i: number, d: number) => {
                  ddi.READ_ULONG(d); // the operation's data, long gone
                  ddi.FltFreeDeferredIoWorkItem(i);
                }, 1, 0);
                return FLT_PREOP_SUCCESS_NO_CALLBACK;
              },
            }],
            FilterUnloadCallback: null, InstanceSetupCallback: null,
          }, filter);
          return st !== 0 ? st : ddi.FltStartFiltering(filter.value);
        },
      }),
    };
    const r = simulate(late, scenario('win10-x64', ops));
    expect(r.phases.filter((p) => p.flt?.kind === 'work-item')).toHaveLength(1);
    expect(r.bugCheck?.reason).toMatch(/freed/);
  });

  test('resumed twice: the filter manager completes the operation twice (bug check 0x44); a work item never freed is pool-released', () => {
    expect(simulate(pender([], { resume: FLT_PREOP_SUCCESS_NO_CALLBACK, twice: true }), scenario('win10-x64', ops)).bugCheck?.code).toBe(0x44);
    const leak = runAndCheck(pender([], { resume: FLT_PREOP_SUCCESS_NO_CALLBACK, free: false }), scenario('win10-x64', [...ops, { op: 'UnloadDriver' }]), INVARIANTS);
    expect(leak.violations.map((v) => v.message)).toEqual([expect.stringMatching(/FMdw/)]);
  });
});

/** A minifilter whose post-write pends the completion (FLT_POSTOP_MORE_PROCESSING_REQUIRED) to a deferred-I/O work item. */
function postPender(log: string[], resumes: number, queue = true): DriverModule {
  return {
    name: 'fltpost', imports: ['FltRegisterFilter'], description: 'a minifilter that pends its post-writes', logsEvents: false, parse: () => [],
    instantiate: () => ({
      DriverEntry(ddi: Ddi) {
        const filter = { value: 0 };
        const named = <F extends object>(name: string, f: F): F => Object.defineProperty(f, 'name', { value: name });
        const work = named('ResumeWrite', (item: number, data: number) => {
          log.push(`work irql=${ddi.KeGetCurrentIrql()} pid=${ddi.PsGetCurrentProcessId()}`);
          ddi.FltFreeDeferredIoWorkItem(item);
          for (let k = 0; k < resumes; k++) ddi.FltCompletePendedPostOperation(data);
        });
        const st = ddi.FltRegisterFilter(0, {
          Size: 0, Version: 0x202, Flags: 0,
          OperationRegistration: [{
            MajorFunction: FLT_MAJOR.IRP_MJ_WRITE, Flags: 0, PreOperation: null,
            PostOperation: named('PostWrite', (data: number) => {
              log.push(`post irql=${ddi.KeGetCurrentIrql()}`);
              if (queue) ddi.FltQueueDeferredIoWorkItem(ddi.FltAllocateDeferredIoWorkItem(), data, work, 1, 0);
              return 1; // FLT_POSTOP_MORE_PROCESSING_REQUIRED
            }),
          }],
          FilterUnloadCallback: () => {
            ddi.FltUnregisterFilter(filter.value);
            return 0;
          },
          InstanceSetupCallback: null,
        }, filter);
        return st !== 0 ? st : ddi.FltStartFiltering(filter.value);
      },
    }),
  };
}

describe('a post-operation that pends (FLT_POSTOP_MORE_PROCESSING_REQUIRED) and FltCompletePendedPostOperation', () => {
  test('resumed from the work item: the worker runs at PASSIVE_LEVEL in the System process, then the write completes', () => {
    const log: string[] = [];
    const r = runAndCheck(postPender(log, 1), scenario('win10-x64', [...ops, { op: 'UnloadDriver' }]), INVARIANTS);
    expect(log).toEqual(['post irql=2', 'work irql=0 pid=4']);
    expect(r.record.files?.map((f) => f.status)).toEqual(['STATUS_SUCCESS']);
    expect(r.violations).toEqual([]);
  });
  test('never resumed, with a work item or without: the caller waits forever (routine-returns); resumed twice: bug check 0x44', () => {
    for (const d of [postPender([], 0), postPender([], 0, false)]) {
      const r = runAndCheck(d, scenario('win10-x64', ops), INVARIANTS);
      expect(r.violations.map((v) => v.invariant)).toEqual(['routine-returns']);
      expect(r.violations[0].message).toMatch(/^PostWrite returned FLT_POSTOP_MORE_PROCESSING_REQUIRED and nothing called FltCompletePendedPostOperation: the caller waits forever/);
    }
    expect(simulate(postPender([], 2), scenario('win10-x64', ops)).bugCheck?.code).toBe(0x44);
  });
});
