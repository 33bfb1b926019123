import { describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import {
  FLT_MAJOR, FLT_SET_CONTEXT_KEEP_IF_EXISTS, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, FLT_STREAM_CONTEXT, FLT_STREAMHANDLE_CONTEXT, fltLayouts, type FltPostOperation,
  type FltPreOperation,
} from '../../src/model/flt/filter-types.js';
import { simulate, type Ddi, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** What a routine of the test filter does with contexts, given the DDIs, the instance and the FILE_OBJECT. */
type Work = (ddi: Ddi, filter: number, instance: number, fileObject: number, log: string[]) => void;

/** A minifilter whose pre-create, post-create, pre-write and pre-cleanup run `work`, and which counts context cleanups. */
function contextFilter(log: string[], work: { preCreate?: Work; postCreate?: Work; preWrite?: Work; preCleanup?: Work }, sizes: { stream?: number } = {}): DriverModule {
  return {
    name: 'fltctx', imports: ['FltRegisterFilter'], description: 'a minifilter with contexts', logsEvents: false, parse: () => [],
    instantiate: () => ({
      DriverEntry(ddi: Ddi) {
        const L = fltLayouts(ddi.pointerSize);
        const filter = { value: 0 };
        const objects = (o: number): [number, number] => [ddi.READ_POINTER(o + L.objects.Instance), ddi.READ_POINTER(o + L.objects.FileObject)];
        // routines named as a C driver's would be (the findings name them)
        const named = <F extends object>(name: string, f: F): F => Object.defineProperty(f, 'name', { value: name });
        const pre = (name: string, w: Work | undefined): FltPreOperation => named(name, (_data: number, o: number) => {
          w?.(ddi, filter.value, ...objects(o), log);
          return 0; // FLT_PREOP_SUCCESS_WITH_CALLBACK
        });
        const post = (name: string, w: Work | undefined): FltPostOperation => named(name, (_data: number, o: number) => {
          w?.(ddi, filter.value, ...objects(o), log);
          return 0;
        });
        const st = ddi.FltRegisterFilter(0, {
          Size: 0, Version: 0x202, Flags: 0,
          ContextRegistration: [
            { ContextType: FLT_STREAM_CONTEXT, Flags: 0, ContextCleanupCallback: (c, type) => log.push(`cleanup ${type}`), Size: sizes.stream ?? 16, PoolTag: 'Ctxs' },
            { ContextType: FLT_STREAMHANDLE_CONTEXT, Flags: 0, ContextCleanupCallback: (c, type) => log.push(`cleanup ${type}`), Size: 8, PoolTag: 'Ctxh' },
          ],
          OperationRegistration: [
            { MajorFunction: FLT_MAJOR.IRP_MJ_CREATE, Flags: 0, PreOperation: pre('PreCreate', work.preCreate), PostOperation: post('PostCreate', work.postCreate) },
            { MajorFunction: FLT_MAJOR.IRP_MJ_WRITE, Flags: 0, PreOperation: pre('PreWrite', work.preWrite), PostOperation: null },
            { MajorFunction: FLT_MAJOR.IRP_MJ_CLEANUP, Flags: 0, PreOperation: pre('PreCleanup', work.preCleanup), PostOperation: null },
          ],
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

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
/** Post-create: a stream context for the file, kept if one is there (the usual get-or-set), the reference released. */
const getOrSet: Work = (ddi, filter, instance, fileObject, log) => {
  const mine = { value: 0 };
  if (ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 16, 0, mine) !== 0) return;
  ddi.WRITE_ULONG(mine.value, 0);
  const old = { value: 0 };
  const st = ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, mine.value, old);
  log.push(`set ${hex(st)}`);
  ddi.FltReleaseContext(mine.value);
  if (old.value !== 0) ddi.FltReleaseContext(old.value);
};
/** Pre-write: the stream's count goes up; `leak` forgets the release. */
const count = (leak: boolean): Work => (ddi, _filter, instance, fileObject, log) => {
  const c = { value: 0 };
  const st = ddi.FltGetStreamContext(instance, fileObject, c);
  if (st !== 0) {
    log.push(`get ${hex(st)}`);
    return;
  }
  ddi.WRITE_ULONG(c.value, ddi.READ_ULONG(c.value) + 1);
  log.push(`writes ${ddi.READ_ULONG(c.value)}`);
  if (!leak) ddi.FltReleaseContext(c.value);
};

const P1: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` };
const write = (file: 'document-1' | 'document-2'): Scenario['ops'][number] => ({ op: 'FileOp', process: 'P1', operation: 'Write', file });

describe('minifilter contexts (FltAllocateContext, FltSet/GetStreamContext, FltReleaseContext)', () => {
  test('a stream context lives with the file: a second open keeps the first one, each write counts on it', () => {
    const log: string[] = [];
    const r = runAndCheck(contextFilter(log, { postCreate: getOrSet, preWrite: count(false) }), scenario('win10-x64', [P1, write('document-1'), write('document-1'), write('document-2')]), INVARIANTS);
    expect(log).toEqual(['set 0x0', 'writes 1', 'set 0xc01c0002', 'cleanup 8', 'writes 2', 'set 0x0', 'writes 1']);
    expect(r.violations).toEqual([]);
  });

  test('the stream context goes when its file is deleted; unregistering deletes the rest (the cleanup routine runs for each)', () => {
    const log: string[] = [];
    const del: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Delete', file: 'document-1' };
    runAndCheck(contextFilter(log, { postCreate: getOrSet }), scenario('win10-x86', [P1, write('document-1'), del, write('document-2'), { op: 'UnloadDriver' }]), INVARIANTS);
    expect(log).toEqual(['set 0x0', 'set 0xc01c0002', 'cleanup 8', 'cleanup 8', 'set 0x0', 'cleanup 8']);
  });

  test('no stream context in pre-create (the stream is not opened yet): STATUS_NOT_SUPPORTED; none set: STATUS_NOT_FOUND', () => {
    const log: string[] = [];
    simulate(contextFilter(log, { preCreate: count(false), preWrite: count(false) }), scenario('win10-x64', [P1, write('document-1')]));
    expect(log).toEqual(['get 0xc00000bb', 'get 0xc0000225']);
  });

  test('a get never released is flt-contexts-released at unload, naming the routine; released, nothing is found', () => {
    const leak = runAndCheck(contextFilter([], { postCreate: getOrSet, preWrite: count(true) }), scenario('win10-x64', [P1, write('document-1'), { op: 'UnloadDriver' }]), INVARIANTS);
    expect(leak.violations.map((v) => v.invariant)).toEqual(['flt-contexts-released']);
    expect(leak.violations[0].message).toMatch(/^PreWrite took 1 stream context reference\(s\) and never released them/);
    const held = runAndCheck(contextFilter([], { postCreate: getOrSet, preWrite: count(true) }), scenario('win10-x64', [P1, write('document-1')]), INVARIANTS);
    expect(held.violations).toEqual([]);
  });

  test('a stream-handle context goes with its FILE_OBJECT at IRP_MJ_CLOSE', () => {
    const log: string[] = [];
    const setHandle: Work = (ddi, filter, instance, fileObject, l) => {
      const c = { value: 0 };
      ddi.FltAllocateContext(filter, FLT_STREAMHANDLE_CONTEXT, 8, 1, c);
      l.push(`set ${hex(ddi.FltSetStreamHandleContext(instance, fileObject, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, c.value, null))}`);
      ddi.FltReleaseContext(c.value);
    };
    const getHandle: Work = (ddi, _filter, instance, fileObject, l) => {
      const c = { value: 0 };
      const st = ddi.FltGetStreamHandleContext(instance, fileObject, c);
      l.push(`handle ${hex(st)}`);
      if (st === 0) ddi.FltReleaseContext(c.value);
    };
    simulate(contextFilter(log, { postCreate: setHandle, preWrite: getHandle }), scenario('win10-x64', [P1, write('document-1'), write('document-1')]));
    expect(log).toEqual(['set 0x0', 'handle 0x0', 'cleanup 16', 'set 0x0', 'handle 0x0', 'cleanup 16']);
  });

  test('FltAllocateContext of a type not registered, or larger than registered: STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND', () => {
    const log: string[] = [];
    const alloc: Work = (ddi, filter, _i, _f, l) => {
      const c = { value: 0 };
      l.push(hex(ddi.FltAllocateContext(filter, 0x0002, 8, 0, c)), hex(ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 17, 0, c)));
    };
    simulate(contextFilter(log, { postCreate: alloc }), scenario('win10-x64', [P1, write('document-1')]));
    expect(log).toEqual(['0xc01c0016', '0xc01c0016']);
  });

  test('replace, reference, delete and the refusals: each reference goes back, and the cleanup runs once per context', () => {
    const log: string[] = [];
    const work: Work = (ddi, filter, instance, fileObject, l) => {
      const a = { value: 0 };
      const b = { value: 0 };
      const h = { value: 0 };
      ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 16, 0, a);
      ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 16, 0, b);
      ddi.FltAllocateContext(filter, FLT_STREAMHANDLE_CONTEXT, 8, 0, h);
      l.push(`set a ${hex(ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, a.value, null))}`);
      const old = { value: 0 };
      // b replaces a: a's object reference comes back in OldContext
      l.push(`replace ${hex(ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, b.value, old))} old=${old.value === a.value}`);
      l.push(`linked ${hex(ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b.value, null))}`);
      l.push(`wrong type ${hex(ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, h.value, null))}`);
      l.push(`bad operation ${hex(ddi.FltSetStreamHandleContext(instance, fileObject, 7, h.value, null))}`);
      l.push(`no instance ${hex(ddi.FltSetStreamHandleContext(0x1234, fileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, h.value, null))}`);
      l.push(`get, no instance ${hex(ddi.FltGetStreamContext(0x1234, fileObject, { value: 0 }))}`);
      l.push(`get, not a FILE_OBJECT ${hex(ddi.FltGetStreamContext(instance, 0x1234, { value: 0 }))}`);
      ddi.FltReferenceContext(b.value);
      ddi.FltReleaseContext(b.value);
      ddi.FltDeleteContext(b.value); // the stream's reference goes: b lives on our two references
      ddi.FltDeleteContext(b.value); // not attached any more: nothing
      ddi.FltReleaseContext(old.value);
      ddi.FltReleaseContext(a.value);
      ddi.FltReleaseContext(b.value);
      ddi.FltReleaseContext(h.value);
    };
    const r = runAndCheck(contextFilter(log, { postCreate: work }), scenario('win10-x64', [P1, write('document-1'), { op: 'UnloadDriver' }]), INVARIANTS);
    expect(log).toEqual([
      'set a 0x0', 'replace 0x0 old=true', 'linked 0xc01c001c', 'wrong type 0xc000000d', 'bad operation 0xc000000d', 'no instance 0xc000000d',
      'get, no instance 0xc000000d', 'get, not a FILE_OBJECT 0xc000000d', 'cleanup 8', 'cleanup 8', 'cleanup 16',
    ]);
    expect(r.violations).toEqual([]);
  });

  test('a release too many frees the context under its stream; one more is bug check 0xC2', () => {
    const twice: Work = (ddi, filter, instance, fileObject) => {
      const c = { value: 0 };
      ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 16, 0, c);
      ddi.FltSetStreamContext(instance, fileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c.value, null);
      ddi.FltReleaseContext(c.value);
      ddi.FltReleaseContext(c.value);
      ddi.FltReleaseContext(c.value);
    };
    const r = simulate(contextFilter([], { postCreate: twice }), scenario('win10-x64', [P1, write('document-1')]));
    expect(r.bugCheck?.code).toBe(0xc2);
    expect(r.bugCheck?.reason).toMatch(/^FltReleaseContext\(0x[0-9A-F]+\): not a context FltAllocateContext returned, or one already freed/);
  });

  test('the release of a paged context at DISPATCH_LEVEL is the verifier\'s IRQL check', () => {
    const paged: Work = (ddi, filter) => {
      const c = { value: 0 };
      ddi.FltAllocateContext(filter, FLT_STREAM_CONTEXT, 16, 1, c);
      const irql = ddi.KeRaiseIrql(2);
      ddi.FltReleaseContext(c.value);
      ddi.KeLowerIrql(irql);
    };
    const r = simulate(contextFilter([], { postCreate: paged }), scenario('win10-x64', [P1, write('document-1')]));
    expect(r.bugCheck?.reason).toMatch(/^FltReleaseContext called at DISPATCH_LEVEL \(allowed up to APC_LEVEL\)/);
  });
});
