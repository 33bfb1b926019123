/**
 * The DDI surface a driver gets: one handler per WDK routine, bound to one kernel. Each validates and records the
 * call, consults the fault plan where the routine can fail, and acts on the kernel's state. Sources per behaviour
 * are in docs/kernel-semantics.md.
 */
import {
  BugCheck,
  BUGCHECK_BAD_POOL_CALLER,
  BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION,
  BUGCHECK_REFERENCE_BY_POINTER,
} from './ke/bugcheck.js';
import { isExported } from './builds.js';
import type { DbgArg } from './dbg/dbgprint.js';
import { debugPrintSends, DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, formatDbgPrint } from './dbg/dbgprint.js';
import {
  DDI_NAMES,
  PsCreateProcessNotifySubsystems,
  PsCreateThreadNotifyNonSystem,
  PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE,
  type Ddi,
  type Out,
  type PCREATE_PROCESS_NOTIFY_ROUTINE_EX,
} from './ddi.js';
import { SL_PENDING_RETURNED } from './io/layouts.js';
import { APC_LEVEL, DDI_IRQL, DISPATCH_LEVEL, irqlName, PASSIVE_LEVEL } from './ke/irql.js';
import { keExRoutines, type KeExRoutines } from './ke-ex.js';
import { poolTagValue } from './mm/memory.js';
import { OB_FLT_REGISTRATION_VERSION, OB_OPERATION_HANDLE_CREATE, OB_OPERATION_HANDLE_DUPLICATE, type ObRegistration } from './ob/callback-types.js';
import { processInfoRoutines, type ProcessInfoRoutines } from './process-info.js';
import { rtlRoutines, type RtlRoutines } from './rtl.js';
import { CHECKS, WORK_BUDGET, type Verifier } from './vf/verifier.js';
import type { KernelComponents as Kernel } from './components.js';
import type { CidObject, KProcess, KThread } from './ps/objects.js';
import { requireExport, routineName } from './mm/sysldr.js';
import type { NotifyTable } from './ps/notify-tables.js';
import { fnv1a } from './rtl/prng.js';
import {
  STATUS_FLT_INSTANCE_ALTITUDE_COLLISION,
  STATUS_ACCESS_DENIED,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_PARAMETER,
  STATUS_INVALID_PARAMETER_2,
  STATUS_OBJECT_NAME_COLLISION,
  STATUS_OBJECT_NAME_NOT_FOUND,
  STATUS_PROCEDURE_NOT_FOUND,
  STATUS_SUCCESS,
  statusName,
  type NTSTATUS,
} from './status.js';
import { hexUpper } from './rtl/hex.js';

/** The routines MmGetSystemRoutineAddress can find (looked up on every call: a set, not the list). */
const DDI_NAME_SET: ReadonlySet<string> = new Set(DDI_NAMES);

const DEVICE_OBJECT_SIZE = { 4: 0xb8, 8: 0x150 } as const;
const POOL_FLAG_UNINITIALIZED = 0x2n;
const POOL_FLAG_PAGED = 0x100n;
/** BAD_POOL_CALLER Parameter 1 values ([DOC] bug-check-0xc2). */
const BAD_POOL_DOUBLE_FREE = 0x07;
const BAD_POOL_WRONG_TAG = 0x0a;
const BAD_POOL_INVALID_ADDRESS = 0x46;
/** DbgPrint's Unicode conversions, allowed at PASSIVE_LEVEL only ([DOC] DbgPrint remarks). */
const UNICODE_FORMAT = /%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:wZ|ws|S|ls|C|lc|wc)/;


/**
 * Every call counts against the routine's budget (the watchdog), and every routine with a documented IRQL limit
 * checks it first (DDI compliance checking). Wraps the functions of `table` in place.
 */
function wrapDdis(table: Record<string, unknown>, verifier: () => Verifier): Record<string, unknown> {
  for (const name of Object.keys(table)) {
    const f = table[name];
    if (typeof f !== 'function' || UNCOUNTED.has(name)) continue;
    const limited = DDI_IRQL[name] !== undefined;
    table[name] = (...args: unknown[]): unknown => {
      const v = verifier();
      v.countDdiCall();
      if (limited) v.checkIrql(name);
      return (f as (...a: unknown[]) => unknown)(...args);
    };
  }
  return table;
}

/** The hooks of the instrumented code: not calls of the driver (neither counted nor IRQL-checked). */
const UNCOUNTED: ReadonlySet<string> = new Set(['WORK_EXCEEDED', 'VERIFY_ACCESS', 'VERIFY_VALUE', 'CPU', 'SCHEDULING_POINT', 'SUSPENDED', 'FIBER_BUFFER', 'ATOMIC_BEGIN', 'ATOMIC_END']);

type LazyGroup = 'rtl' | 'processInfo' | 'keEx';
const BUILD_GROUP = Symbol('build a routine group');
/** The routines built with every surface; the groups' come from LAZY_PROTO. */
type CoreDdi = Omit<Ddi, keyof RtlRoutines | keyof ProcessInfoRoutines | keyof KeExRoutines> & {
  readonly [BUILD_GROUP]: (group: LazyGroup) => Record<string, unknown>;
};

/**
 * The prototype of every DDI surface: a getter per routine of the lazily built groups, which builds the group for
 * that kernel on first use and then shadows itself with the routine. The names come from building each group once
 * against a stub (the factories only make closures).
 */
const LAZY_PROTO: object = (() => {
  // reason: a stub context; the factories read only the pointer size while building their closures
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const stub = { mem: { pointerSize: 4 }, pointerSize: 4 } as any;
  const names: Record<LazyGroup, string[]> = {
    rtl: Object.keys(rtlRoutines(stub)),
    processInfo: Object.keys(processInfoRoutines(stub)),
    keEx: Object.keys(keExRoutines(stub)),
  };
  const proto = {};
  for (const group of Object.keys(names) as LazyGroup[]) {
    for (const name of names[group]) {
      Object.defineProperty(proto, name, {
        configurable: true,
        get(this: Record<symbol, (g: LazyGroup) => Record<string, unknown>>) {
          const fn = this[BUILD_GROUP](group)[name];
          Object.defineProperty(this, name, { value: fn, writable: true, configurable: true, enumerable: true });
          return fn;
        },
      });
    }
  }
  return proto;
})();

const UNICODE_STRING_32 = { Length: 0, MaximumLength: 2, Buffer: 4, size: 8 } as const;
const UNICODE_STRING_64 = { Length: 0, MaximumLength: 2, Buffer: 8, size: 16 } as const;

/** A DDI surface and the kernel it is bound to (a run's; none while idle). */
export interface DdiSurface {
  readonly ddi: Ddi;
  bind(k: Kernel | null): void;
}

/** How many surfaces whose run is over wait for the next kernels (runs on one thread use one or two at a time). */
const IDLE_SURFACES = 4;
const idle: DdiSurface[] = [];
let surfaceReuse = true;

/** @internal for tests: off, every load builds its surface anew (what a reused one must be identical to). */
export function setDdiSurfaceReuse(on: boolean): void {
  surfaceReuse = on;
  if (!on) idle.length = 0;
}

/**
 * The DDI surface for a driver load on `k`: one whose run is over, rebound to `k`, or a new one. Its ~200 closures
 * were two fifths of what a boot allocated.
 */
export function takeDdiSurface(k: Kernel): DdiSurface {
  const s = (surfaceReuse ? idle.pop() : undefined) ?? newSurface();
  s.bind(k);
  return s;
}

/** The run is over (its record taken): the surface forgets its kernel and serves a later one. */
export function releaseDdiSurface(s: DdiSurface): void {
  s.bind(null);
  // once: a surface idle twice would serve two kernels
  if (surfaceReuse && idle.length < IDLE_SURFACES && !idle.includes(s)) idle.push(s);
}

function newSurface(): DdiSurface {
  // the kernel the surface is bound to, and what its routines use of it (set by bind)
  let k = null as unknown as Kernel;
  let mem = null as unknown as Kernel['mem'];
  let v = null as unknown as Verifier;
  let ps: 4 | 8 = 4;
  let driverName = '';
  const verifier = (): Verifier => v;
  const register = <F>(table: NotifyTable<F>, name: string, routine: F, full: NTSTATUS): NTSTATUS => {
    const f = k.ke.faults.fault(name);
    if (f !== undefined) {
      k.rec.log(name, [routineName(routine)], f, undefined, true);
      return f;
    }
    k.loaded.addressOf(routine);
    // A routine already in the process table: NT 5.x registers it again (no check, [WRK] ps/create.c); from
    // Vista the documented answer is STATUS_INVALID_PARAMETER ("already registered": UNCONFIRMED in code).
    if (table.kind === 'process' && k.ke.build.major >= 6 && table.slots.some((x) => x !== null && x.routine === routine)) {
      k.rec.log(name, [routineName(routine)], STATUS_INVALID_PARAMETER, 'already registered');
      return STATUS_INVALID_PARAMETER;
    }
    const slot = table.register(routine, driverName, routineName(routine));
    const status = slot < 0 ? full : STATUS_SUCCESS;
    // the slot is published with an interlocked exchange and read the same way ([WRK] ex/callback.c
    // ExCompareExchangeCallBack, ExReferenceCallBackBlock): what the driver did before registering happens before
    // every call of the routine
    if (slot >= 0) k.ke.cpus.syncRelease(k.loaded.addressOf(routine));
    k.rec.log(name, [routineName(routine)], status, slot < 0 ? undefined : `slot ${slot}`);
    return status;
  };
  /** A reference the driver takes (lookup or ObReferenceObject): counted on the object and in the callback. */
  const takeReference = (obj: KProcess | KThread): void => {
    obj.pointerCount++;
    obj.driverRefs++;
    if (k.rec.frame?.cb) k.rec.frame.cb.refsTaken++;
  };
  /** A reference the driver held, dropped (ObDereferenceObject, ZwClose of its handle). */
  const dropReference = (o: CidObject, routine: string): void => {
    const obj = o.kind === 'process' ? o.p : o.t;
    const va = o.kind === 'process' ? o.p.eprocess : o.t.ethread;
    if (k.rec.frame?.cb) k.rec.frame.cb.refsDropped++;
    obj.driverRefs--;
    if (obj.pointerCount - 1 === 0 && obj.state === 'active') {
      // The count would reach zero under a live process/thread: illegal for its state ([DOC] bug-check-0x18).
      throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, k.mem.canonical(va), 1, 0],
        `${routine} would delete live ${o.kind} ${o.kind === 'process' ? o.p.pid : o.t.tid}`);
    }
    if (o.kind === 'process') k.ob.objects.dereferenceProcess(o.p);
    else k.ob.objects.dereferenceThread(o.t);
  };
  const processInfo = (): ProcessInfoRoutines => processInfoRoutines({
    mem, pointerSize: ps,
    current: () => k.ke.current,
    system: k.ps.processes.system,
    lookupCid: (id) => k.ps.processes.cids.lookup(id),
    objectAt: (va) => k.ob.objects.objectAt(va, false),
    takeReference: (o) => takeReference(o.kind === 'process' ? o.p : o.t),
    dropReference: (o) => dropReference(o, 'ZwClose'),
    objectType: (index) => k.ob.objects.objectType(index),
    kernelHandles: k.ob.handles.table,
    nextKernelHandle: () => k.ob.handles.next++,
    allocate: allocatePaged,
    log: (name, args, status, result) => k.rec.log(name, args, status, result),
    hex: (va) => k.ke.hex(va),
    inheritedFromUniqueProcessId: k.ke.build.eprocess.InheritedFromUniqueProcessId,
    requireExport: (name) => requireExport(k.ke.build, name),
  });
  /** PsSetCreateProcessNotifyRoutineEx / Ex2: the process table, with the routine marked as an Ex routine. */
  const setProcessEx = (name: string, routine: PCREATE_PROCESS_NOTIFY_ROUTINE_EX, removeIt: boolean): NTSTATUS => {
    if (removeIt) {
      const st = remove(k.ps.notify.processTable, name, routine);
      if (st === STATUS_SUCCESS) k.ps.notify.exProcessRoutines.delete(routine);
      return st;
    }
    if (!k.integrityCheck) {
      // "the image that contains the callback routine pointer did not have IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY
      // set in its image header" ([DOC] PsSetCreateProcessNotifyRoutineEx, …Ex2: STATUS_ACCESS_DENIED)
      k.rec.log(name, [routineName(routine)], STATUS_ACCESS_DENIED, 'linked without /INTEGRITYCHECK');
      return STATUS_ACCESS_DENIED;
    }
    const st = register(k.ps.notify.processTable, name, routine, STATUS_INVALID_PARAMETER);
    if (st === STATUS_SUCCESS) k.ps.notify.exProcessRoutines.add(routine);
    return st;
  };
  const remove = <F>(table: NotifyTable<F>, name: string, routine: F): NTSTATUS => {
    const status = table.remove(routine) ? STATUS_SUCCESS : STATUS_PROCEDURE_NOT_FOUND;
    k.rec.log(name, name.startsWith('PsSetCreateProcessNotifyRoutine') ? [routineName(routine), 'Remove=TRUE'] : [routineName(routine)], status);
    // the removal waits for calls of the routine already running on other CPUs: the callback block's rundown
    // protection ([WRK] ps/psnotify.c: ExWaitForCallBacks after the slot is cleared)
    if ((k.ke.cpus.inflight.get(routine) ?? 0) > 0) {
      k.ke.cpus.block({ what: `the calls of ${routineName(routine)} still running on other CPUs`, ready: () => (k.ke.cpus.inflight.get(routine) ?? 0) === 0, sync: k.loaded.addressOf(routine) }, { value: status });
    }
    k.ke.cpus.syncAcquire(k.loaded.addressOf(routine)); // the calls that ended before: their rundown reference was released
    return status;
  };
  /** Past the driver's quota (or what the machine has left) an allocation returns NULL, as documented. */
  const overQuota = (n: number): boolean => mem.heldBy(driverName) + n > k.ex.poolQuota || mem.wouldExhaust(n);
  /** Paged pool a routine allocates on the driver's behalf (strings, image names): the driver's to free. */
  const allocatePaged = (bytes: number, tag: string): number => (overQuota(bytes) ? 0 : mem.alloc(bytes, tag, driverName, { paged: true }));
  const rtl = (): RtlRoutines => rtlRoutines({
    mem,
    allocate: allocatePaged,
    free: (va) => ddi.ExFreePoolWithTag(va, ''),
    log: (name, args, status, result) => k.rec.log(name, args, status, result),
    hex: (va) => k.ke.hex(va),
  });
  /** A message the debugger receives: formatted (at most 512 bytes) into the callback's output. */
  const print = (routine: string, format: string, args: DbgArg[]): NTSTATUS => {
    if (v.enabled && v.irql > PASSIVE_LEVEL && UNICODE_FORMAT.test(format)) {
      v.violation(0xe5, 0, `${routine} with a Unicode conversion (${UNICODE_FORMAT.exec(format)?.[0] ?? ''}) at ${irqlName(v.irql)}: allowed at PASSIVE_LEVEL only`);
    }
    for (let i = 0; i < args.length; i++) v.checkValue(routine, i + 2, args[i]);
    const r = v.onBehalfOfDriver(() => formatDbgPrint(mem, format, args));
    const f = k.rec.frame;
    if (f !== null) f.prints.push({ text: r.text, fullLength: r.fullLength });
    return STATUS_SUCCESS;
  };
  /** A message the filter holds back: recorded as a call, not as output (the debugger never sees it). */
  const filtered = (routine: string, format: string, componentId?: number, level?: number): NTSTATUS => {
    k.rec.log(routine, componentId === undefined ? [JSON.stringify(format)] : [String(componentId), String(level), JSON.stringify(format)], STATUS_SUCCESS, 'filtered');
    return STATUS_SUCCESS;
  };
  // the routines read and write the driver's buffers for it: an overrun is the driver's, reported as the kernel
  // touching it on the driver's behalf (special pool's 0xCD/0xCC codes)
  const onBehalf = (): RtlRoutines => Object.fromEntries(Object.entries(rtl()).map(([name, f]) => [name, (...a: unknown[]) => v.onBehalfOfDriver(() => (f as (...x: unknown[]) => unknown)(...a))])) as unknown as RtlRoutines;
  const keEx = (): KeExRoutines => keExRoutines({
    mem, pointerSize: ps,
    sinceBoot: () => k.ke.sinceBoot,
    advance: (units) => { k.ke.sinceBoot += units; },
    systemTime: () => k.ke.systemTime(),
    currentThread: () => k.ke.lockOwner(),
    currentEthread: () => k.ke.current.ethread,
    checkWaitIrql: (routine) => v.checkIrql(routine, { max: APC_LEVEL }),
    enterCriticalRegion: () => v.enterCriticalRegion(),
    leaveCriticalRegion: () => v.leaveCriticalRegion(),
    routine: () => k.rec.frame?.cb?.routine ?? 'the driver',
    allocate: (poolType, bytes, tag) => ddi.ExAllocatePoolWithTag(poolType, bytes, tag),
    free: (va, tag) => ddi.ExFreePoolWithTag(va, tag),
    log: (name, args, status, result) => k.rec.log(name, args, status, result),
    hex: (va) => k.ke.hex(va),
    hangCheck: CHECKS.watchdog,
    block: (wait) => k.ke.cpus.block(wait),
    lockAcquired: (va) => k.ke.cpus.lockAcquired(va),
    lockReleased: (va) => k.ke.cpus.lockReleased(va),
    syncRelease: (va) => k.ke.cpus.syncRelease(va),
    syncAcquire: (va) => k.ke.cpus.syncAcquire(va),
  });
  // The routine groups are built for a kernel the first time its driver calls one of them (most drivers call few):
  // constructing ~100 closures per run for nothing was most of a run's fixed cost.
  const built = new Map<LazyGroup, Record<string, unknown>>();
  const factories: Readonly<Record<LazyGroup, () => object>> = { rtl: onBehalf, processInfo, keEx };
  const core: CoreDdi = {
    // @ts-expect-error reason: `__proto__` in a literal sets the prototype (the lazy groups' getters); TS has no type for it
    __proto__: LAZY_PROTO,
    [BUILD_GROUP]: (group: LazyGroup): Record<string, unknown> => {
      let g = built.get(group);
      if (g === undefined) {
        g = wrapDdis(factories[group]() as Record<string, unknown>, verifier);
        built.set(group, g);
      }
      return g;
    },
    // the run's (set by bind)
    pointerSize: ps,
    memory: null as unknown as WebAssembly.Memory,
    IMAGE_INFO: null as unknown as Ddi['IMAGE_INFO'],
    PS_CREATE_NOTIFY_INFO: null as unknown as Ddi['PS_CREATE_NOTIFY_INFO'],
    IRP: null as unknown as Ddi['IRP'],
    IO_STACK_LOCATION: null as unknown as Ddi['IO_STACK_LOCATION'],
    UNICODE_STRING: UNICODE_STRING_32,
    READ_UCHAR: (p) => { mem.check(p, 1, false); return mem.u8(p); },
    READ_USHORT: (p) => { mem.check(p, 2, false); return mem.u16(p); },
    READ_ULONG: (p) => { mem.check(p, 4, false); return mem.u32(p); },
    READ_POINTER: (p) => { mem.check(p, ps, false); return mem.ptr(p); },
    WRITE_UCHAR: (p, v) => { mem.check(p, 1, true); mem.setU8(p, v); },
    WRITE_USHORT: (p, v) => { mem.check(p, 2, true); mem.setU16(p, v); },
    WRITE_ULONG: (p, v) => { mem.check(p, 4, true); mem.setU32(p, v); },
    WRITE_POINTER: (p, v) => { mem.check(p, ps, true); mem.setPtr(p, v); },
    RtlCopyMemory: (d, s, n) => {
      if (n === 0) return;
      mem.check(s, n, false);
      mem.check(d, n, true);
      mem.setBytes(d, mem.slice(s, n).slice());
    },
    RtlZeroMemory: (d, n) => {
      if (n === 0) return;
      mem.check(d, n, true);
      mem.fill(d, n, 0);
    },
    uninitialized: () => ({ value: k.ke.uninitializedPointer }),
    RtlGetVersion: () => ({ dwMajorVersion: k.ke.build.major, dwMinorVersion: k.ke.build.minor, dwBuildNumber: k.ke.build.buildNumber }),
    MmGetSystemRoutineAddress: (name) => {
      const address = DDI_NAME_SET.has(name) && isExported(k.ke.build, name) ? k.ke.build.systemImageBase + (fnv1a(name) & 0xffff0) : 0;
      // recorded: a missing export is a reason a DriverEntry may fail (entry-failure-justified)
      k.rec.log('MmGetSystemRoutineAddress', [name], undefined, address === 0 ? 'NULL' : '0x' + hexUpper(address));
      return address;
    },
    PsSetCreateProcessNotifyRoutine: (routine, removeIt) => {
      if (removeIt) return remove(k.ps.notify.processTable, 'PsSetCreateProcessNotifyRoutine', routine);
      return register(k.ps.notify.processTable, 'PsSetCreateProcessNotifyRoutine', routine, STATUS_INVALID_PARAMETER);
    },
    PsSetCreateThreadNotifyRoutine: (routine) =>
      register(k.ps.notify.threadTable, 'PsSetCreateThreadNotifyRoutine', routine, STATUS_INSUFFICIENT_RESOURCES),
    PsRemoveCreateThreadNotifyRoutine: (routine) => {
      requireExport(k.ke.build, 'PsRemoveCreateThreadNotifyRoutine');
      return remove(k.ps.notify.threadTable, 'PsRemoveCreateThreadNotifyRoutine', routine);
    },
    PsSetLoadImageNotifyRoutine: (routine) =>
      register(k.ps.notify.imageTable, 'PsSetLoadImageNotifyRoutine', routine, STATUS_INSUFFICIENT_RESOURCES),
    PsRemoveLoadImageNotifyRoutine: (routine) => {
      requireExport(k.ke.build, 'PsRemoveLoadImageNotifyRoutine');
      return remove(k.ps.notify.imageTable, 'PsRemoveLoadImageNotifyRoutine', routine);
    },
    PsSetCreateProcessNotifyRoutineEx: (routine, removeIt) => {
      requireExport(k.ke.build, 'PsSetCreateProcessNotifyRoutineEx');
      return setProcessEx('PsSetCreateProcessNotifyRoutineEx', routine, removeIt);
    },
    PsSetCreateProcessNotifyRoutineEx2: (type, routine, removeIt) => {
      requireExport(k.ke.build, 'PsSetCreateProcessNotifyRoutineEx2');
      if (type !== PsCreateProcessNotifySubsystems) {
        k.rec.log('PsSetCreateProcessNotifyRoutineEx2', [String(type), routineName(routine)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      return setProcessEx('PsSetCreateProcessNotifyRoutineEx2', routine, removeIt);
    },
    PsSetCreateThreadNotifyRoutineEx: (type, routine) => {
      requireExport(k.ke.build, 'PsSetCreateThreadNotifyRoutineEx');
      if (type !== PsCreateThreadNotifyNonSystem && type !== 1) {
        k.rec.log('PsSetCreateThreadNotifyRoutineEx', [String(type), routineName(routine)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const st = register(k.ps.notify.threadTable, 'PsSetCreateThreadNotifyRoutineEx', routine, STATUS_INSUFFICIENT_RESOURCES);
      if (st === STATUS_SUCCESS && type === PsCreateThreadNotifyNonSystem) k.ps.notify.newThreadContextRoutines.add(routine);
      return st;
    },
    PsSetLoadImageNotifyRoutineEx: (routine, flags) => {
      requireExport(k.ke.build, 'PsSetLoadImageNotifyRoutineEx');
      if ((flags & ~PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE) !== 0) {
        k.rec.log('PsSetLoadImageNotifyRoutineEx', [routineName(routine), String(flags)], STATUS_INVALID_PARAMETER_2);
        return STATUS_INVALID_PARAMETER_2;
      }
      return register(k.ps.notify.imageTable, 'PsSetLoadImageNotifyRoutineEx', routine, STATUS_INSUFFICIENT_RESOURCES);
    },
    PsLookupThreadByThreadId: (tid, out: Out<number>) => {
      const e = k.ps.processes.cids.lookup(tid);
      if (e === undefined || e.kind !== 'thread' || e.t.state === 'deleted') {
        k.rec.log('PsLookupThreadByThreadId', [String(tid)], k.ke.build.lookupNotFound);
        return k.ke.build.lookupNotFound;
      }
      const t = e.t;
      takeReference(t);
      out.value = t.ethread;
      k.rec.log('PsLookupThreadByThreadId', [String(tid)], STATUS_SUCCESS, `${k.ke.hex(t.ethread)} PointerCount=${t.pointerCount}`);
      return STATUS_SUCCESS;
    },
    PsLookupProcessByProcessId: (pid, out: Out<number>) => {
      const f = k.ke.faults.fault('PsLookupProcessByProcessId');
      if (f !== undefined) {
        k.rec.log('PsLookupProcessByProcessId', [String(pid)], f, undefined, true);
        return f;
      }
      const e = k.ps.processes.cids.lookup(pid);
      if (e === undefined || e.kind !== 'process' || e.p.state === 'deleted') {
        k.rec.log('PsLookupProcessByProcessId', [String(pid)], k.ke.build.lookupNotFound);
        return k.ke.build.lookupNotFound;
      }
      const p = e.p;
      takeReference(p);
      out.value = p.eprocess;
      k.rec.log('PsLookupProcessByProcessId', [String(pid)], STATUS_SUCCESS, `${k.ke.hex(p.eprocess)} (${p.name}) PointerCount=${p.pointerCount}`);
      return STATUS_SUCCESS;
    },
    ObReferenceObject: (va) => {
      const o = k.ob.objects.objectAt(va, false);
      const obj = o.kind === 'process' ? o.p : o.t;
      takeReference(obj);
      k.rec.log('ObReferenceObject', [k.ke.hex(va)], undefined, `PointerCount=${obj.pointerCount}`);
    },
    ObDereferenceObject: (va) => {
      const o = k.ob.objects.objectAt(va, true);
      const obj = o.kind === 'process' ? o.p : o.t;
      k.rec.log('ObDereferenceObject', [k.ke.hex(va)], undefined, `PointerCount=${obj.pointerCount - 1}`);
      dropReference(o, 'ObDereferenceObject');
    },
    PsGetCurrentProcessId: () => k.ke.current.process.pid,
    PsGetCurrentThreadId: () => k.ke.current.tid,
    PsGetCurrentProcess: () => k.ke.current.process.eprocess,
    PsGetProcessId: (p) => {
      requireExport(k.ke.build, 'PsGetProcessId');
      k.ob.objects.objectAt(p, false);
      return mem.ptr(p + k.ke.build.eprocess.UniqueProcessId);
    },
    PsGetProcessImageFileName: (p) => {
      requireExport(k.ke.build, 'PsGetProcessImageFileName');
      mem.check(p, 1, false);
      return p + k.ke.build.eprocess.ImageFileName; // nothing but Process + offset (OSR NT Insider 2006)
    },
    IoCreateDevice: (dobj, ext, name, _type, _chars, exclusive, out) => {
      const f = k.ke.faults.fault('IoCreateDevice');
      if (f !== undefined) {
        k.rec.log('IoCreateDevice', [String(name)], f, undefined, true);
        return f;
      }
      if (name !== null && k.ob.namespace.has(name)) {
        k.rec.log('IoCreateDevice', [name], STATUS_OBJECT_NAME_COLLISION);
        return STATUS_OBJECT_NAME_COLLISION;
      }
      const va = mem.alloc(DEVICE_OBJECT_SIZE[ps] + ext, 'Devi', 'kernel', { type: 'DEVICE_OBJECT', driverWritable: true });
      mem.setU16(va, 3);
      mem.setU16(va + 2, DEVICE_OBJECT_SIZE[ps] + ext);
      mem.setPtr(va + (ps === 4 ? 8 : 0x10), dobj.address); // DriverObject
      if (ext > 0) mem.setPtr(va + (ps === 4 ? 0x28 : 0x40), va + DEVICE_OBJECT_SIZE[ps]); // DeviceExtension
      k.ob.namespace.addDevice({ name, owner: driverName, va, exclusive, opens: 0 });
      if (dobj.DeviceObject === 0) {
        (dobj as { DeviceObject: number }).DeviceObject = va;
        mem.setPtr(dobj.address + ps, va);
      }
      out.value = va;
      k.rec.log('IoCreateDevice', [String(name)], STATUS_SUCCESS, k.ke.hex(va));
      return STATUS_SUCCESS;
    },
    IoDeleteDevice: (va) => {
      const d = k.ob.namespace.removeDevice(va);
      if (d === undefined) {
        mem.check(va, 1, true);
        throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, mem.canonical(va), 0, 0], `IoDeleteDevice(${k.ke.hex(va)}): not a device object`);
      }
      mem.free(va);
      const dobj = k.io.loader.driverObject;
      if (dobj !== null && dobj.DeviceObject === va) {
        const next = k.ob.namespace.devices.find((x) => x.owner === driverName);
        dobj.DeviceObject = next?.va ?? 0;
        mem.setPtr(dobj.address + ps, dobj.DeviceObject);
      }
      k.rec.log('IoDeleteDevice', [k.ke.hex(va)]);
    },
    IoCreateSymbolicLink: (link, target) => {
      const f = k.ke.faults.fault('IoCreateSymbolicLink');
      if (f !== undefined) {
        k.rec.log('IoCreateSymbolicLink', [link, target], f, undefined, true);
        return f;
      }
      if (k.ob.namespace.has(link)) {
        k.rec.log('IoCreateSymbolicLink', [link, target], STATUS_OBJECT_NAME_COLLISION);
        return STATUS_OBJECT_NAME_COLLISION;
      }
      k.ob.namespace.addLink({ name: link, target, owner: driverName });
      k.rec.log('IoCreateSymbolicLink', [link, target], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    IoDeleteSymbolicLink: (link) => {
      const f = k.ke.faults.fault('IoDeleteSymbolicLink');
      if (f !== undefined) {
        k.rec.log('IoDeleteSymbolicLink', [link], f, undefined, true);
        return f;
      }
      const status = k.ob.namespace.removeLink(link) !== undefined ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
      k.rec.log('IoDeleteSymbolicLink', [link], status);
      return status;
    },
    IoCompleteRequest: (irp, boost) => {
      k.rec.log('IoCompleteRequest', [k.ke.hex(irp), String(boost)], undefined, statusName(mem.u32(irp + k.io.irps.irpLayout.IoStatus)));
      k.io.irps.completeIrp(irp);
    },
    IoMarkIrpPending: (irp) => {
      const stack = ddi.IoGetCurrentIrpStackLocation(irp);
      mem.check(stack, k.io.irps.stackLayout.size, true);
      mem.setU8(stack + k.io.irps.stackLayout.Control, mem.u8(stack + k.io.irps.stackLayout.Control) | SL_PENDING_RETURNED);
    },
    IoSetCancelRoutine: (irp, routine) => {
      const at = irp + k.io.irps.irpLayout.CancelRoutine;
      mem.check(at, ps, true);
      k.ke.cpus.atomicBegin(at);
      const old = mem.ptr(at);
      const pointer = routine === null ? 0 : k.loaded.addressOf(routine);
      if (routine !== null) k.io.irps.cancelRoutines.set(pointer, routine);
      mem.setPtr(at, pointer);
      k.ke.cpus.atomicEnd();
      return old === 0 ? null : k.io.irps.cancelRoutines.get(old) ?? null;
    },
    IoAcquireCancelSpinLock: () => ddi.KeAcquireSpinLock(k.io.irps.cancelSpinLock),
    IoReleaseCancelSpinLock: (irql) => ddi.KeReleaseSpinLock(k.io.irps.cancelSpinLock, irql),
    IoGetCurrentIrpStackLocation: (irp) => {
      mem.check(irp, k.io.irps.irpLayout.size, false);
      return mem.ptr(irp + k.io.irps.irpLayout.CurrentStackLocation);
    },
    ExAllocatePoolWithTag: (type, n, tag) => {
      const paged = (type & 1) === 1; // PagedPool and its variants are odd POOL_TYPE values (wdm.h)
      if (v.enabled && paged && v.irql > APC_LEVEL) v.violation(0x01, type, `ExAllocatePoolWithTag: paged pool at ${irqlName(v.irql)}`, n);
      const f = k.ke.faults.fault('ExAllocatePoolWithTag');
      if (f !== undefined || n <= 0 || overQuota(n)) {
        k.rec.log('ExAllocatePoolWithTag', [String(n), tag], undefined, f === undefined && n > 0 ? 'NULL (pool quota)' : 'NULL', f !== undefined);
        return 0;
      }
      const va = mem.alloc(n, tag, driverName, { paged });
      mem.fill(va, n, 0xcd); // pool is not zeroed: fill like Verifier's special pool does
      k.rec.log('ExAllocatePoolWithTag', [String(n), tag], undefined, k.ke.hex(va));
      return va;
    },
    ExFreePoolWithTag: (p, tag) => {
      const b = mem.block(p);
      if (!v.enabled) {
        if (b === undefined || b.owner !== driverName) {
          throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_DOUBLE_FREE, 0, 0, mem.canonical(p)], `ExFreePoolWithTag(${k.ke.hex(p)}): not a live pool block of the driver`);
        }
      } else if (b === undefined) {
        const stale = mem.blockAt(p);
        if (stale !== undefined && stale.freed && stale.block.va === p) {
          throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_DOUBLE_FREE, 0, 0, mem.canonical(p)],
            `ExFreePoolWithTag(${k.ke.hex(p)}): pool block '${stale.block.tag}' (${stale.block.size} bytes) freed twice`, 'pool-tracking');
        }
        throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_INVALID_ADDRESS, mem.canonical(p), 0, 0],
          `ExFreePoolWithTag(${k.ke.hex(p)}): not the start of a pool allocation${stale !== undefined ? ` (inside '${stale.block.tag}' at ${k.ke.hex(stale.block.va)})` : ''}`, 'pool-tracking');
      } else if (b.owner !== driverName || (tag !== '' && tag !== b.tag)) {
        throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_WRONG_TAG, mem.canonical(p), poolTagValue(b.tag), poolTagValue(tag)],
          `ExFreePoolWithTag(${k.ke.hex(p)}, '${tag}'): the block was allocated ${b.owner === driverName ? `with tag '${b.tag}'` : `by ${b.owner} ('${b.tag}')`}`, 'pool-tracking');
      } else if (b.paged && v.irql > APC_LEVEL) {
        v.violation(0x11, 1, `ExFreePoolWithTag: paged pool freed at ${irqlName(v.irql)}`, mem.canonical(p));
      }
      mem.free(p);
      k.rec.log('ExFreePoolWithTag', [k.ke.hex(p), tag]);
    },
    ExAllocatePool2: (flags, n, tag) => {
      requireExport(k.ke.build, 'ExAllocatePool2');
      const f = k.ke.faults.fault('ExAllocatePool2');
      if (f !== undefined || n <= 0 || overQuota(n)) {
        k.rec.log('ExAllocatePool2', [`0x${flags.toString(16)}`, String(n), tag], undefined, f === undefined && n > 0 ? 'NULL (pool quota)' : 'NULL', f !== undefined);
        return 0;
      }
      const paged = (flags & POOL_FLAG_PAGED) !== 0n;
      if (v.enabled && paged && v.irql > APC_LEVEL) v.violation(0x01, 1, `ExAllocatePool2: paged pool at ${irqlName(v.irql)}`, n);
      const uninitialized = (flags & POOL_FLAG_UNINITIALIZED) !== 0n;
      const va = mem.alloc(n, tag, driverName, { zeroed: !uninitialized, paged });
      if (uninitialized) mem.fill(va, n, 0xcd); // zeroed unless asked not to ([DOC] ExAllocatePool2)
      k.rec.log('ExAllocatePool2', [`0x${flags.toString(16)}`, String(n), tag], undefined, k.ke.hex(va));
      return va;
    },
    KeInitializeSpinLock: (p) => {
      mem.check(p, ps, true);
      mem.setPtr(p, 0);
    },
    KeAcquireSpinLock: (p) => {
      if (v.enabled && v.irql > DISPATCH_LEVEL) v.violation(0x42, mem.canonical(p), `KeAcquireSpinLock at ${irqlName(v.irql)}`);
      mem.check(p, ps, true);
      if (mem.ptr(p) !== 0) {
        // held by another CPU: spin until it is released (several CPUs); held by this thread: a deadlock
        if (!v.isHeld(p)) k.ke.cpus.block({ what: `spin lock ${k.ke.hex(p)}`, ready: () => mem.ptr(p) === 0, lock: p });
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1001, mem.canonical(p), 0, 0], `deadlock: spin lock ${k.ke.hex(p)} acquired while already held`);
      }
      mem.setPtr(p, 1);
      k.ke.cpus.lockAcquired(p);
      return v.acquired(p, 'spin lock', DISPATCH_LEVEL); // raises to DISPATCH_LEVEL, returns the old IRQL
    },
    KeReleaseSpinLock: (p, newIrql) => {
      mem.check(p, ps, true);
      if (mem.ptr(p) === 0) {
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1003, mem.canonical(p), 0, 0], `spin lock ${k.ke.hex(p)} released while not held`);
      }
      if (v.enabled && v.irql !== DISPATCH_LEVEL) v.violation(0x32, mem.canonical(p), `KeReleaseSpinLock at ${irqlName(v.irql)}`);
      mem.setPtr(p, 0);
      k.ke.cpus.lockReleased(p);
      v.released(p);
      v.lower(newIrql);
    },
    // FAST_MUTEX.Count: 1 free, 0 owned (FM_LOCK_BIT, [DOC] ExInitializeFastMutex)
    ExInitializeFastMutex: (p) => {
      mem.check(p, 4, true);
      mem.setU32(p, 1);
    },
    ExAcquireFastMutex: (p) => {
      if (v.enabled && v.irql > APC_LEVEL) v.violation(0x33, mem.canonical(p), `ExAcquireFastMutex at ${irqlName(v.irql)}`);
      mem.check(p, 4, true);
      if (mem.u32(p) !== 1) {
        if (mem.u32(p) === 0 && !v.isHeld(p)) k.ke.cpus.block({ what: `fast mutex ${k.ke.hex(p)}`, ready: () => mem.u32(p) === 1, lock: p });
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1001, mem.canonical(p), 0, 0], `deadlock: fast mutex ${k.ke.hex(p)} acquired while owned (or never initialised)`);
      }
      mem.setU32(p, 0);
      k.ke.cpus.lockAcquired(p);
      v.acquired(p, 'fast mutex', APC_LEVEL); // ExAcquireFastMutex raises to APC_LEVEL ([DOC])
    },
    ExReleaseFastMutex: (p) => {
      mem.check(p, 4, true);
      if (mem.u32(p) !== 0) {
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1003, mem.canonical(p), 0, 0], `fast mutex ${k.ke.hex(p)} released while not owned`);
      }
      if (v.enabled && v.irql !== APC_LEVEL) v.violation(0x34, mem.canonical(p), `ExReleaseFastMutex at ${irqlName(v.irql)}`);
      mem.setU32(p, 1);
      k.ke.cpus.lockReleased(p);
      const h = v.released(p);
      v.lower(h?.oldIrql ?? PASSIVE_LEVEL);
    },
    ObRegisterCallbacks: (reg, out) => {
      requireExport(k.ke.build, 'ObRegisterCallbacks');
      const fail = (st: NTSTATUS, why: string): NTSTATUS => {
        k.rec.log('ObRegisterCallbacks', [reg.Altitude], st, why);
        return st;
      };
      // [DOC] ObRegisterCallbacks, return values
      if (!k.integrityCheck) return fail(STATUS_ACCESS_DENIED, 'linked without /INTEGRITYCHECK');
      if (reg.Version !== OB_FLT_REGISTRATION_VERSION) return fail(STATUS_INVALID_PARAMETER, `Version 0x${reg.Version.toString(16)}`);
      if (reg.OperationRegistration.length === 0) return fail(STATUS_INVALID_PARAMETER, 'OperationRegistrationCount 0');
      const operations: ObRegistration['operations'][number][] = [];
      for (const o of reg.OperationRegistration) {
        const type = o.ObjectType === k.ob.objects.objectType(0).type ? 'process' : o.ObjectType === k.ob.objects.objectType(1).type ? 'thread' : null;
        if (type === null) return fail(STATUS_INVALID_PARAMETER, 'an object type other than *PsProcessType or *PsThreadType');
        if ((o.Operations & ~(OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE)) !== 0 || o.Operations === 0) return fail(STATUS_INVALID_PARAMETER, `Operations 0x${o.Operations.toString(16)}`);
        if (o.PreOperation === null && o.PostOperation === null) return fail(STATUS_INVALID_PARAMETER, 'neither a pre- nor a post-operation routine');
        operations.push({ type, ops: o.Operations, pre: o.PreOperation, post: o.PostOperation });
      }
      if (k.ob.callbacks.registrations.some((r) => r.altitude === reg.Altitude)) return fail(STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, `altitude ${reg.Altitude} is taken`);
      const f = k.ke.faults.fault('ObRegisterCallbacks');
      if (f !== undefined) {
        k.rec.log('ObRegisterCallbacks', [reg.Altitude], f, undefined, true);
        return f;
      }
      const handle = mem.alloc(0x40, 'ObCb', 'kernel', { type: 'callback registration' });
      k.ob.callbacks.registrations.push({ handle, owner: driverName, altitude: reg.Altitude, context: reg.RegistrationContext, operations });
      out.value = handle;
      k.ke.cpus.syncRelease(handle); // published to the object manager's callback list: happens before every callback
      k.rec.log('ObRegisterCallbacks', [reg.Altitude], STATUS_SUCCESS, k.ke.hex(handle));
      return STATUS_SUCCESS;
    },
    ObUnRegisterCallbacks: (handle) => {
      const i = k.ob.callbacks.registrations.findIndex((r) => r.handle === handle);
      if (i < 0) {
        // the handle is a pointer the kernel dereferences: a bad one faults (CHOICE: 0x50 at the address)
        mem.check(handle, 1, false);
        throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, mem.canonical(handle), 0, 0], `ObUnRegisterCallbacks(${k.ke.hex(handle)}): not a registration handle`);
      }
      const r = k.ob.callbacks.registrations[i];
      k.ob.callbacks.registrations.splice(i, 1);
      mem.free(handle);
      k.rec.log('ObUnRegisterCallbacks', [k.ke.hex(handle)]);
      // several CPUs: it returns once the object callbacks in progress on other CPUs have (a CHOICE: kernel.ts)
      if ((k.ke.cpus.inflight.get(r) ?? 0) > 0) k.ke.cpus.block({ what: `the object callbacks still running on other CPUs`, ready: () => (k.ke.cpus.inflight.get(r) ?? 0) === 0, sync: handle }, { value: undefined });
      k.ke.cpus.syncAcquire(handle);
    },
    ObGetFilterVersion: () => OB_FLT_REGISTRATION_VERSION,
    KeGetCurrentIrql: () => v.irql,
    KeAcquireSpinLockRaiseToDpc: (p) => ddi.KeAcquireSpinLock(p),
    // KLOCK_QUEUE_HANDLE: LockQueue { Next, Lock } then OldIrql ([DOC] wdm.h)
    KeAcquireInStackQueuedSpinLock: (p, handle) => {
      mem.check(handle, 3 * ps, true);
      const old = ddi.KeAcquireSpinLock(p);
      mem.setPtr(handle, 0);
      mem.setPtr(handle + ps, p);
      mem.setU8(handle + 2 * ps, old);
    },
    KeReleaseInStackQueuedSpinLock: (handle) => {
      mem.check(handle, 2 * ps + 1, false);
      ddi.KeReleaseSpinLock(mem.ptr(handle + ps), mem.u8(handle + 2 * ps));
    },
    KeRaiseIrql: (newIrql) => v.raise(newIrql),
    KeLowerIrql: (newIrql) => v.lower(newIrql),
    KeBugCheckEx: (code, p1, p2, p3, p4) => {
      throw new BugCheck(code >>> 0, [p1 >>> 0, p2 >>> 0, p3 >>> 0, p4 >>> 0], 'KeBugCheckEx called by the driver');
    },
    DbgPrint: (format: string, ...args: DbgArg[]) => {
      // to Windows Server 2003 unconditional; from Vista DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...)
      if (k.ke.build.major >= 6 && !debugPrintSends(k.dbg.filter, DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL)) return filtered('DbgPrint', format);
      return print('DbgPrint', format, args);
    },
    DbgPrintEx: (componentId: number, level: number, format: string, ...args: DbgArg[]) => {
      requireExport(k.ke.build, 'DbgPrintEx');
      if (!debugPrintSends(k.dbg.filter, componentId, level)) return filtered('DbgPrintEx', format, componentId, level);
      return print('DbgPrintEx', format, args);
    },
    VERIFY_ACCESS: (p, n, write) => {
      if (k.ke.cpus.sched === null) {
        mem.check(p, n, write);
        return;
      }
      // the driver's own access: the race detector's input (the kernel's accesses for a DDI are not the driver's)
      k.ke.cpus.driverAccess = true;
      try {
        mem.check(p, n, write);
      } finally {
        k.ke.cpus.driverAccess = false;
      }
    },
    MEMORY_OFFSET: (p) => mem.offsetOf(p, 1),
    VERIFY_VALUE: (routine, position, value) => v.checkValue(routine, position, value),
    WORK_EXCEEDED: () => v.workExceeded(),
    WORK_BUDGET,
    CPU: () => (k.ke.cpus.fibers ? k.ke.cpus.sched?.running?.cpu ?? -1 : -1),
    SCHEDULING_POINT: (at, access) => k.ke.cpus.sched?.point(at, access === true) ?? false,
    SUSPENDED: () => {
      const t = k.ke.cpus.sched?.running;
      if (t !== undefined && t !== null) t.suspended = true;
    },
    FIBER_BUFFER: (cpu) => k.ke.cpus.fiberBuffer(cpu),
    ATOMIC_BEGIN: (p) => k.ke.cpus.atomicBegin(p),
    ATOMIC_END: () => k.ke.cpus.atomicEnd(),
  };
  wrapDdis(core as unknown as Record<string, unknown>, verifier);
  const ddi = core as unknown as Ddi;
  const fields = core as unknown as Record<string | symbol, unknown>;
  const bind = (kernel: Kernel | null): void => {
    if (kernel === null) {
      k = null as unknown as Kernel;
      mem = null as unknown as Kernel['mem'];
      v = null as unknown as Verifier;
      fields.memory = null;
      return;
    }
    k = kernel;
    mem = k.mem;
    v = k.verifier;
    ps = k.ke.build.pointerSize;
    driverName = k.loaded.name;
    fields.pointerSize = ps;
    fields.memory = mem.wasm;
    fields.IMAGE_INFO = k.ps.notify.imageInfo;
    fields.PS_CREATE_NOTIFY_INFO = k.ps.notify.createInfo;
    fields.IRP = k.io.irps.irpLayout;
    fields.IO_STACK_LOCATION = k.io.irps.stackLayout;
    fields.UNICODE_STRING = ps === 4 ? UNICODE_STRING_32 : UNICODE_STRING_64;
    // a group built for an earlier kernel holds what it was built with: built again for this one
    for (const group of built.keys()) {
      const g = wrapDdis(factories[group]() as Record<string, unknown>, verifier);
      built.set(group, g);
      // defined, not assigned: a routine never called still has only the prototype's getter (no setter)
      for (const name of Object.keys(g)) Object.defineProperty(core, name, { value: g[name], writable: true, configurable: true, enumerable: true });
    }
  };
  return { ddi, bind };
}
