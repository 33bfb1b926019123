/**
 * Object callbacks (ObRegisterCallbacks) as the object manager calls them: a process opens (or duplicates) a handle
 * to a process or thread, and the registered pre-operation routines run in the requester's context at
 * PASSIVE_LEVEL, each seeing the DesiredAccess the previous one left (CHOICE: in ascending altitude order), then the
 * post-operation ones with the access granted — never more than was asked for (CHOICE: bits a callback adds are not
 * granted). [DOC] ObRegisterCallbacks, OB_PRE_OPERATION_INFORMATION. The registration DDIs: ob/callback-ddis.ts.
 */
import { BugCheck, BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import { Shadow } from '../mm/memory.js';
import { routineName } from '../mm/sysldr.js';
import type { CidObject, KProcess, KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import type { PhaseRecord } from '../record.js';
import { hex8 } from '../rtl/hex.js';
import { STATUS_SUCCESS } from '../status.js';
import { OB_OPERATION_HANDLE_CREATE, OB_OPERATION_HANDLE_DUPLICATE, obInformationLayout, type ObRegistration } from './callback-types.js';
import type { ObjectManager } from './objects.js';

/** What every object callback of one handle open shares. */
interface ObjectCallbackCall {
  readonly options: { readonly duplicate: boolean; readonly kernelHandle: boolean };
  readonly type: 'process' | 'thread';
  readonly id: number;
  readonly requester: KProcess;
  readonly thread: KThread;
}

const hex32 = (v: number): string => '0x' + hex8(v);

export class ObCallbacks {
  /** @internal object-callback registrations (ObRegisterCallbacks) of the driver under test */
  readonly registrations: ObRegistration[] = [];

  constructor(private readonly ke: KernelCore, private readonly objects: ObjectManager, private readonly processes: Processes) {}

  /** @internal a handle open (OpenProcess, OpenThread, DuplicateHandle) as the object callbacks see it */
  *openHandleG(requester: KProcess, target: CidObject, access: number, options: { readonly duplicate: boolean; readonly kernelHandle: boolean }): Generator<void, void, void> {
    const { ke, objects, processes } = this;
    const mem = ke.mem;
    ke.assertRunning();
    const type = target.kind;
    const op = options.duplicate ? OB_OPERATION_HANDLE_DUPLICATE : OB_OPERATION_HANDLE_CREATE;
    const matching = this.registrations
      .slice().sort((a, b) => (a.altitude < b.altitude ? -1 : a.altitude > b.altitude ? 1 : 0))
      .flatMap((r) => r.operations.filter((o) => o.type === type && (o.ops & op) !== 0).map((o) => ({ r, o })));
    if (matching.length === 0) return;
    const ps = ke.build.pointerSize;
    const L = obInformationLayout(ps);
    const object = target.kind === 'process' ? target.p.eprocess : target.t.ethread;
    const id = target.kind === 'process' ? target.p.pid : target.t.tid;
    // the object manager holds a reference on the object while the handle is made (several CPUs: the process may
    // exit meanwhile, its object stays until this open is over)
    if (target.kind === 'process') target.p.pointerCount++;
    else target.t.pointerCount++;
    const info = mem.alloc(L.size, 'ObCb', 'kernel', { type: 'OB_PRE_OPERATION_INFORMATION' });
    const params = mem.alloc(L.parametersSize, 'ObCb', 'kernel', { type: 'OB_PRE_CREATE_HANDLE_INFORMATION', driverWritable: true });
    // the callback may set CallContext for its post-operation routine; the rest is the kernel's
    mem.mark(info + L.CallContext, ps, Shadow.Owned);
    mem.setU32(info + L.Operation, op);
    mem.setU32(info + L.Flags, options.kernelHandle ? 1 : 0);
    mem.setPtr(info + L.Object, object);
    mem.setPtr(info + L.ObjectType, objects.objectType(type === 'process' ? 0 : 1).type);
    mem.setPtr(info + L.PreParameters, params);
    mem.setU32(params, access);
    mem.setU32(params + 4, access);
    if (options.duplicate) {
      mem.setPtr(params + 8, requester.eprocess);
      mem.setPtr(params + 8 + ps, requester.eprocess);
    }
    const thread = requester === processes.system ? processes.systemThread() : processes.creatorThread(requester);
    const call: ObjectCallbackCall = { options, type, id, requester, thread };
    let desired = access >>> 0;
    for (const { r, o } of matching) {
      if (o.pre === null) continue;
      const pre = o.pre;
      const phase = yield* this.objectCallback(call, 'pre', r, pre, () => { pre(r.context, info); }, desired);
      desired = mem.u32(params) >>> 0;
      if (phase?.handle !== undefined) phase.handle.desiredAccessAfter = hex32(desired);
    }
    const granted = (desired & access) >>> 0;
    // OB_POST_OPERATION_INFORMATION: ReturnStatus, then Parameters → OB_POST_CREATE_HANDLE_INFORMATION { GrantedAccess }
    mem.setU32(info + L.PostReturnStatus, STATUS_SUCCESS);
    mem.setPtr(info + L.PostParameters, params);
    mem.setU32(params, granted);
    for (const { r, o } of matching) {
      if (o.post === null) continue;
      const post = o.post;
      yield* this.objectCallback(call, 'post', r, post, () => { post(r.context, info); }, granted);
    }
    mem.free(params);
    mem.free(info);
    if (target.kind === 'process') objects.dereferenceProcess(target.p);
    else objects.dereferenceThread(target.t);
  }

  /** One object callback of an open (a method, not a closure made per open: test/model/heap.test.ts says why). */
  private *objectCallback(call: ObjectCallbackCall, callback: 'pre' | 'post', r: ObRegistration, routineFn: unknown, fn: () => void, desired: number): Generator<void, PhaseRecord | null, void> {
    const { ke } = this;
    const { rec, loaded, cpus } = ke;
    const { options, type, id, requester, thread } = call;
    // several CPUs: a scheduling point before the kernel takes the registration (it may be gone after it)
    if (cpus.sched !== null && cpus.sched.point(`${routineName(routineFn)} starts`)) yield;
    if (!this.registrations.includes(r)) return null;
    const phase = rec.beginPhase('ObjectCallback');
    const routine = routineName(routineFn);
    phase.handle = {
      callback, routine, altitude: r.altitude, operation: options.duplicate ? 'duplicate' : 'create', objectType: type, target: id,
      requester: requester.pid, kernelHandle: options.kernelHandle, desiredAccess: hex32(desired),
    };
    if (loaded.state === 'unloaded' || loaded.state === 'failed-load') {
      // the routine's code is gone ([DOC] bug-check-0xce)
      phase.outcome = 'bugcheck';
      ke.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0],
        `object ${callback}-operation callback ${routine} (altitude ${r.altitude}) called after ${loaded.name}.sys was unloaded`), 'ObjectCallback', phase.seq);
    }
    // CHOICE: ObUnRegisterCallbacks waits for callbacks in progress, as the notify-routine removals do (the WDK only
    // says it must be called before unloading, which is safe only if so)
    cpus.acquireRundown(r);
    if (cpus.sched !== null) cpus.syncAcquire(r.handle);
    try {
      yield* ke.inContext(thread, () => ke.runDriverCode(phase, null, fn, false));
    } finally {
      cpus.releaseRundown(r);
      if (cpus.sched !== null) cpus.syncRelease(r.handle);
    }
    rec.frame = null;
    return phase;
  }
}
