/**
 * The filter manager: registered minifilters, their instance on the volume, and file I/O as it calls them. A thread
 * opens a file (IRP_MJ_CREATE), writes, renames or deletes it (IRP_MJ_WRITE, IRP_MJ_SET_INFORMATION), and closes its
 * handle (IRP_MJ_CLEANUP, IRP_MJ_CLOSE); for each, every instance whose FLT_OPERATION_REGISTRATION names the major
 * function gets its pre-operation, then — by what that returned — its post-operation
 * ([DOC] ifs/writing-preoperation-callback-routines, ifs/writing-postoperation-callback-routines):
 *  - FLT_PREOP_SUCCESS_WITH_CALLBACK: the post-operation follows; _NO_CALLBACK (and _DISALLOW_FASTIO on an IRP): none;
 *  - FLT_PREOP_COMPLETE: the operation ends with FLT_CALLBACK_DATA.IoStatus as the filter set it, no lower filter or
 *    file system sees it, and no post-operation of this filter follows;
 *  - FLT_PREOP_SYNCHRONIZE: the post-operation runs in the thread that issued the I/O, at IRQL <= APC_LEVEL;
 *  - a post-operation otherwise "can be called at IRQL <= DISPATCH_LEVEL, in an arbitrary thread context": CHOICE,
 *    the post-operations of IRP_MJ_READ and IRP_MJ_WRITE run at DISPATCH_LEVEL in the System process (the disk's
 *    completion, the worst case Windows allows); post-create at PASSIVE_LEVEL in the caller's thread (documented);
 *    the others at PASSIVE_LEVEL in the caller's thread;
 *  - FltDoCompletionProcessingWhenSafe at DISPATCH_LEVEL queues its routine to a worker that runs it at PASSIVE_LEVEL
 *    before the I/O completes ([DOC] fltkernel/nf-fltkernel-fltdocompletionprocessingwhensafe).
 *  - FLT_PREOP_PENDING: the operation waits until the filter calls FltCompletePendedPreOperation, which says what the
 *    pre-operation's status is; the system worker runs the deferred-I/O work items queued meanwhile (flt/pending.ts);
 *    one nothing resumes hangs its caller. The registration routines: flt/filter-ddis.ts.
 */
import { BugCheck, BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, VerifierStop } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import { DISPATCH_LEVEL, irqlName, PASSIVE_LEVEL } from '../ke/irql.js';
import { routineName } from '../mm/sysldr.js';
import type { KProcess, KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import type { FileOpRecord, FltCallbackRecord, PhaseRecord } from '../record.js';
import { NT_SUCCESS, STATUS_SUCCESS, statusName, type NTSTATUS } from '../status.js';
import { CHECKS } from '../vf/verifier.js';
import {
  FileDispositionInformation, FileRenameInformation, FLT_MAJOR, FLT_POSTOP_MORE_PROCESSING_REQUIRED, FLT_PREOP_COMPLETE, FLT_PREOP_PENDING, FLTFL_POST_OPERATION_DRAINING,
  FLT_PREOP_SUCCESS_WITH_CALLBACK, FLT_PREOP_SYNCHRONIZE, FLTFL_CALLBACK_DATA_IRP_OPERATION, fltLayouts, PREOP_NAMES, type FltMajorName,
  type FltOperationRegistration, type FltPostOperation, type FltRegistrationInput,
} from './filter-types.js';
import type { FltContexts } from './contexts.js';
import type { DeferredWork, FltPending } from './pending.js';
import { filePath, RENAME_SUFFIX, Volume, type FileLabel, type VolumeFile } from './volume.js';

export type FileOperation = 'Create' | 'Write' | 'Read' | 'Rename' | 'Delete';

/** A file operation as a scenario names it. */
export interface FileRequest {
  readonly operation: FileOperation;
  readonly file: FileLabel;
}

/** A registered minifilter (what FltRegisterFilter returned a pointer to). */
export interface FltFilter {
  /** The opaque PFLT_FILTER: a block of kernel memory. */
  readonly address: number;
  readonly owner: string;
  readonly load: number;
  readonly altitude: string;
  readonly registration: FltRegistrationInput;
  started: boolean;
  /** Its instance on the volume (PFLT_INSTANCE), once FltStartFiltering attached it; 0 when InstanceSetup declined. */
  instance: number;
}

/** A FLT_FILE_NAME_INFORMATION the filter manager gave out, with the references the driver holds. */
export interface FileNameInfo {
  readonly file: string;
  readonly routine: string;
  readonly op: number;
  readonly seq?: number;
  refs: number;
  /** The unload (its phase's seq) that finished while the driver still held a reference. */
  unload?: number;
}

/** What one operation's callbacks share. */
interface Io {
  readonly thread: KThread;
  readonly requester: KProcess;
  readonly rec: FileOpRecord;
  readonly fileObject: number;
}

/** An operation's callbacks' common arguments. */
interface Call {
  readonly io: Io;
  readonly major: FltMajorName;
  readonly path: string;
  readonly filter: FltFilter;
}

/** A routine FltDoCompletionProcessingWhenSafe queued for a worker. */
interface SafePost {
  readonly routine: FltPostOperation;
  readonly data: number;
  readonly objects: number;
  readonly context: number;
  readonly flags: number;
}

/** ZwCreateFile's dispositions the operations use (wdm.h FILE_OPEN, FILE_CREATE, FILE_OPEN_IF), and FILE_NON_DIRECTORY_FILE. */
const CREATE_DISPOSITION = { open: 1, create: 2, 'open-if': 3 } as const;
const FILE_NON_DIRECTORY_FILE = 0x40;
/** IO_STATUS_BLOCK.Information of a successful create (wdm.h). */
const FILE_OPENED = 1;
const FILE_CREATED = 2;
/** The bytes each generated read and write moves. */
const IO_LENGTH = 4096;

/** CHOICE: the altitude the filter manager reads from the minifilter's Instances key (FSFilter Activity Monitor). */
export const FILTER_ALTITUDE = '370020';
const FILE_OBJECT_SIZE = { 4: 0x80, 8: 0xd8 } as const;

/**
 * A minifilter routine of `filter`, in `phase`, run in `thread` at `irql`: what it returned. Bug check 0xCE when the
 * image of the load that registered the filter is gone ([DOC] bug-check-0xce; `what` names the call); while it runs
 * it holds the filter's rundown (FltUnregisterFilter waits for it). Operations' callbacks and ports' both run here.
 */
export function* runFilterRoutine(ke: KernelCore, filter: FltFilter, phase: PhaseRecord, what: string, irql: number, thread: KThread, fn: () => number): Generator<void, number, void> {
  const { loaded, cpus } = ke;
  if (loaded.state !== 'loaded' || filter.owner !== loaded.name || filter.load !== loaded.loads) {
    phase.outcome = 'bugcheck';
    ke.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0], `${what} after ${loaded.name}.sys was unloaded`), phase.phase, phase.seq);
  }
  let returned = 0;
  const body = enterAtIrql(ke, irql, () => {
    returned = fn();
  });
  cpus.acquireRundown(filter);
  if (cpus.sched !== null) cpus.syncAcquire(filter.address);
  try {
    yield* ke.inContext(thread, () => ke.runDriverCode(phase, null, body, false));
  } finally {
    cpus.releaseRundown(filter);
    if (cpus.sched !== null) cpus.syncRelease(filter.address);
  }
  ke.rec.frame = null;
  return returned;
}

/**
 * A routine's body called at `irql`: set on its first call only, and put back when it returns — not when it is
 * switched out at a scheduling point (several CPUs), where the IRQL it raised to (a spin lock held) is its thread's
 * and the resumed call must find it.
 */
function enterAtIrql(ke: KernelCore, irql: number, fn: () => void): () => void {
  let saved: number | null = null;
  return () => {
    if (saved === null) {
      saved = ke.verifier.irql;
      ke.verifier.irql = irql;
    }
    try {
      fn();
    } finally {
      // returned, or threw (which ends the routine too): not switched out
      if (ke.cpus.sched?.running?.suspended !== true) ke.verifier.irql = saved;
    }
  };
}

export class FltFilters {
  /** @internal registered minifilters, in registration order */
  readonly filters: FltFilter[] = [];
  /** @internal the FLT_CALLBACK_DATA of operations whose post-operation has been called (a work item queued now pends the post) */
  readonly inPost = new Set<number>();
  /** @internal filters whose FltUnregisterFilter waits for their operations to drain (several CPUs) */
  readonly unregistering: FltFilter[] = [];
  /** @internal name information blocks, by address */
  readonly names = new Map<number, FileNameInfo>();
  /** @internal FLT_CALLBACK_DATA blocks of operations in progress → the requesting process and the file's path */
  readonly callbackData = new Map<number, { readonly requester: KProcess; readonly file: string }>();
  /**
   * @internal routines FltDoCompletionProcessingWhenSafe queued, by the FLT_CALLBACK_DATA of their operation: on
   * several CPUs two post-operations can be running at once, and each resumes only its own
   */
  readonly safePosts = new Map<number, SafePost[]>();
  /**
   * @internal operations whose pre-operation asked for the post-operation, not called yet, by their FLT_CALLBACK_DATA:
   * each holds its filter's rundown, so FltUnregisterFilter waits for it to be drained
   */
  private readonly awaitingPost = new Map<number, FltFilter>();
  /** The volume's device object and FLT_VOLUME (made at the first need). */
  private volumeObject = 0;
  private fs: Volume | null = null;

  /** @internal the FILE_OBJECTs of operations in progress → the file once IRP_MJ_CREATE opened it (its stream) */
  readonly fileObjects = new Map<number, { file: VolumeFile | undefined }>();

  /** @internal each operation in progress, by its FLT_CALLBACK_DATA (a work item runs in its name) */
  private readonly calls = new Map<number, Call>();
  private readonly workCalls = new Map<DeferredWork, Call>();

  constructor(private readonly ke: KernelCore, private readonly processes: Processes, private readonly contexts: FltContexts, private readonly pending: FltPending) {}

  get volume(): Volume {
    this.fs ??= new Volume(this.ke.loaded.name);
    return this.fs;
  }

  /** @internal PFLT_VOLUME of the one volume */
  volumeAddress(): number {
    if (this.volumeObject === 0) this.volumeObject = this.ke.mem.alloc(0x40, 'FMvo', 'kernel', { type: 'FLT_VOLUME' });
    return this.volumeObject;
  }

  /** @internal the filter the driver's current load registered, while its image is loaded */
  driverFilter(): FltFilter | undefined {
    const { loaded } = this.ke;
    return loaded.state === 'loaded' ? this.filters.find((f) => f.owner === loaded.name && f.load === loaded.loads) : undefined;
  }

  /** @internal the unload finished: every name the driver still holds is one it will never release */
  unloaded(seq: number): void {
    for (const n of this.names.values()) if (n.refs > 0) n.unload ??= seq;
    this.contexts.unloaded(seq);
  }

  /** @internal a file operation from `requester` */
  *operationG(requester: KProcess, request: FileRequest): Generator<void, FileOpRecord, void> {
    const { ke } = this;
    ke.assertRunning();
    const path = filePath(request.file, this.volume.service);
    const filter = this.driverFilter();
    const rec: FileOpRecord = {
      op: ke.rec.opIndex, pid: requester.pid, process: requester.name, operation: request.operation, file: path, status: '', native: '',
      filtered: filter !== undefined && filter.started && filter.instance !== 0,
    };
    (ke.rec.record.files ??= []).push(rec);
    const mem = ke.mem;
    const fileObject = mem.alloc(FILE_OBJECT_SIZE[ke.build.pointerSize], 'File', 'kernel', { type: 'FILE_OBJECT', zeroed: true });
    const io: Io = { thread: this.processes.creatorThread(requester), requester, rec, fileObject };
    let file: VolumeFile | undefined;
    const stream: { file: VolumeFile | undefined } = { file: undefined };
    this.fileObjects.set(fileObject, stream);
    try {
      const disposition = request.operation === 'Create' ? 'create' : request.operation === 'Write' ? 'open-if' : 'open';
      const opened = yield* this.irpG(io, 'IRP_MJ_CREATE', path, () => {
        const r = this.volume.open(path, disposition);
        file = r.file;
        stream.file = r.file;
        return { status: r.status, information: r.created === true ? FILE_CREATED : FILE_OPENED };
      }, undefined, CREATE_DISPOSITION[disposition]);
      if (!NT_SUCCESS(opened) || file === undefined) {
        rec.status = statusName(opened);
        return rec;
      }
      const f: VolumeFile = file;
      let status: NTSTATUS = STATUS_SUCCESS;
      switch (request.operation) {
        case 'Write': status = yield* this.irpG(io, 'IRP_MJ_WRITE', path, () => this.volume.write(f, 0, IO_LENGTH)); break;
        case 'Read': status = yield* this.irpG(io, 'IRP_MJ_READ', path, () => STATUS_SUCCESS); break;
        case 'Rename': status = yield* this.irpG(io, 'IRP_MJ_SET_INFORMATION', path, () => this.volume.rename(f, `${path}${RENAME_SUFFIX}`), 'rename'); break;
        case 'Delete': status = yield* this.irpG(io, 'IRP_MJ_SET_INFORMATION', path, () => {
          const st = this.volume.delete(f);
          // the stream goes with the file: the filter manager deletes its contexts (CHOICE: at once, as the delete)
          if (NT_SUCCESS(st)) this.contexts.streamDeleted(f);
          return st;
        }, 'delete'); break;
        default: break;
      }
      // the handle closes whatever the operation got: cleanup, then close (and with the FILE_OBJECT its stream-handle contexts)
      yield* this.irpG(io, 'IRP_MJ_CLEANUP', path, () => STATUS_SUCCESS);
      yield* this.irpG(io, 'IRP_MJ_CLOSE', path, () => STATUS_SUCCESS);
      this.contexts.fileObjectClosed(fileObject);
      yield* this.cleanupsG(io, path);
      yield* this.workItemsG();
      rec.status = statusName(status);
      return rec;
    } finally {
      // a filter unregistered while the operation ran (several CPUs) did not filter all of it
      if (filter !== undefined && !this.filters.includes(filter)) rec.filtered = false;
      // the FILE_OBJECT's last reference (after IRP_MJ_CLOSE): its stream-handle contexts go with it
      this.contexts.fileObjectClosed(fileObject);
      this.fileObjects.delete(fileObject);
      mem.free(fileObject);
    }
  }

  /**
   * A pended operation: the system worker runs the work items queued (the pre-operation's among them), then the
   * operation goes on as FltCompletePendedPreOperation said — its status, and its context for the post-operation. On
   * several CPUs another thread may still resume it; one nothing resumes leaves its caller waiting forever.
   */
  private *pendedG(call: Call, data: number, context: number, routine: string): Generator<void, number | null, void> {
    const { ke } = this;
    // a worker on another CPU may have resumed it already (its work item ran before the pre-operation returned)
    if (!this.pending.pended.has(data)) this.pending.pended.set(data, null);
    // the pended operation holds the filter's rundown: FltUnregisterFilter waits for it
    const { cpus } = ke;
    cpus.acquireRundown(call.filter);
    try {
      yield* this.resumptionG(call, data, routine, 'FLT_PREOP_PENDING', 'FltCompletePendedPreOperation', () => (this.pending.pended.get(data) ?? null) !== null);
    } finally {
      cpus.releaseRundown(call.filter);
    }
    // resumptionG returned: FltCompletePendedPreOperation has set it
    const resumed = this.pending.pended.get(data) as { readonly status: number; readonly context: number };
    this.pending.pended.delete(data);
    if (resumed.status === FLT_PREOP_SUCCESS_WITH_CALLBACK) ke.mem.setPtr(context, resumed.context);
    return resumed.status;
  }

  /** An operation owes `filter` its post-operation: it holds the filter's rundown until it is settled. */
  private owe(data: number, filter: FltFilter): void {
    const { cpus } = this.ke;
    this.awaitingPost.set(data, filter);
    cpus.acquireRundown(filter);
  }

  /** The operation has ended: the rundown its owed post-operation held (if any) is released. */
  private settle(data: number): void {
    const filter = this.awaitingPost.get(data);
    if (filter === undefined) return;
    this.awaitingPost.delete(data);
    this.ke.cpus.releaseRundown(filter);
  }

  /**
   * A post-operation that returned FLT_POSTOP_MORE_PROCESSING_REQUIRED (not through FltDoCompletionProcessingWhenSafe):
   * the completion waits until the filter calls FltCompletePendedPostOperation, usually from the deferred-I/O work item
   * it queued ([DOC] ifs/pending-an-i-o-operation-in-a-postoperation-callback-routine). The operation keeps holding
   * the filter's rundown; one nothing resumes leaves its caller waiting forever.
   */
  private *pendedPostG(call: Call, data: number, routine: string): Generator<void, void, void> {
    const pendedPost = this.pending.pendedPost;
    if (!pendedPost.has(data)) pendedPost.set(data, false);
    yield* this.resumptionG(call, data, routine, 'FLT_POSTOP_MORE_PROCESSING_REQUIRED', 'FltCompletePendedPostOperation', () => pendedPost.get(data) === true);
    pendedPost.delete(data);
  }

  /**
   * A pended operation waits to be resumed (pre- or post-operation alike): the system worker runs the work items
   * queued (the filter's own among them); on several CPUs another thread may still resume it; one nothing resumes
   * leaves its caller waiting forever — named by the routine that pended it and what it `returned`.
   */
  private *resumptionG(call: Call, data: number, routine: string, returned: string, resumer: string, resumed: () => boolean): Generator<void, void, void> {
    const { ke } = this;
    yield* this.workItemsG();
    const s = ke.cpus.sched;
    if (!resumed() && s !== null && s.running !== null) {
      s.running.routine = 'the filter manager';
      s.block({ what: `the ${call.major} ${routine} pended (${resumer})`, ready: resumed, sync: data });
      yield;
      ke.cpus.syncAcquire(data);
    }
    if (!resumed()) {
      const phase = [...ke.rec.record.phases].reverse().find((p) => p.flt?.routine === routine);
      ke.stop(new VerifierStop(CHECKS.watchdog, `${routine} returned ${returned} and nothing called ${resumer}: the caller waits forever (${call.major} of ${call.path})`),
        'FltCallback', phase?.seq ?? null);
    }
  }

  /** @internal FltQueueDeferredIoWorkItem: the work item, in the name of the operation in progress it was queued for */
  queueWork(w: DeferredWork): void {
    const call = this.calls.get(w.data);
    if (call === undefined) return;
    this.pending.queue.push(w);
    this.workCalls.set(w, call);
  }

  /**
   * The system worker: the deferred-I/O work items queued, each at PASSIVE_LEVEL in the System process (one whose
   * operation has ended since gets its FLT_CALLBACK_DATA all the same: freed memory, as on Windows).
   */
  private *workItemsG(): Generator<void, void, void> {
    while (this.pending.queue.length > 0 && !this.ke.halted) {
      const w = this.pending.queue.shift() as DeferredWork;
      const call = this.workCalls.get(w) as Call;
      this.workCalls.delete(w);
      yield* this.callG(call, 'work-item', routineName(w.routine), () => {
        w.routine(w.item, w.data, w.context);
        return 0;
      }, PASSIVE_LEVEL, this.processes.systemThread());
    }
  }

  /** The filter manager's worker: cleanup routines of contexts a teardown or a release at DISPATCH_LEVEL freed. */
  private *cleanupsG(io: Io, path: string): Generator<void, void, void> {
    while (this.contexts.pending.length > 0) {
      const c = this.contexts.pending.shift() as (typeof this.contexts.pending)[number];
      const cleanup = c.registration.ContextCleanupCallback;
      const filter = this.filters.find((f) => f === c.filter);
      // a filter gone since: its cleanups ran in FltUnregisterFilter, or its image is gone (nothing to call)
      if (cleanup !== null && filter !== undefined) {
        yield* this.callG({ io, major: 'IRP_MJ_CLOSE', path, filter }, 'context-cleanup', routineName(cleanup), () => {
          cleanup(c.address, c.registration.ContextType);
          return 0;
        }, PASSIVE_LEVEL, this.processes.systemThread());
      }
      this.ke.mem.free(c.address);
    }
  }

  /** One operation through the filters and the file system: the status its issuer gets. */
  private *irpG(io: Io, major: FltMajorName, path: string, perform: () => NTSTATUS | { readonly status: NTSTATUS; readonly information: number }, info?: 'rename' | 'delete', createDisposition?: number): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    const mem = ke.mem;
    const ps = ke.build.pointerSize;
    const L = fltLayouts(ps);
    // every filter with an instance on the volume that registered for this major function (a filter an unload left
    // registered included: its routines are called, and their code is gone)
    const target = this.filters.map((filter) => ({ filter, reg: filter.registration.OperationRegistration.find((o) => o.MajorFunction === FLT_MAJOR[major]) }))
      .find((t): t is { filter: FltFilter; reg: FltOperationRegistration } => t.filter.started && t.filter.instance !== 0 && t.reg !== undefined);
    if (target === undefined) {
      const done = perform();
      const st = typeof done === 'number' ? done : done.status;
      io.rec.native = statusName(st);
      return st;
    }
    const data = mem.alloc(L.data.size, 'FMcb', 'kernel', { type: 'FLT_CALLBACK_DATA', zeroed: true, driverWritable: true });
    const iopb = mem.alloc(L.iopb.size, 'FMib', 'kernel', { type: 'FLT_IO_PARAMETER_BLOCK', zeroed: true, driverWritable: true });
    const objects = mem.alloc(L.objects.size, 'FMro', 'kernel', { type: 'FLT_RELATED_OBJECTS', zeroed: true });
    const context = mem.alloc(ps, 'FMcc', 'kernel', { type: 'CompletionContext', zeroed: true, driverWritable: true });
    let buffer = 0;
    try {
      mem.setU32(data, FLTFL_CALLBACK_DATA_IRP_OPERATION);
      mem.setPtr(data + L.data.Thread, io.thread.ethread);
      mem.setPtr(data + L.data.Iopb, iopb);
      mem.setU8(data + L.data.RequestorMode, io.requester === this.processes.system ? 0 : 1);
      mem.setU8(iopb + L.iopb.MajorFunction, FLT_MAJOR[major]);
      mem.setPtr(iopb + L.iopb.TargetFileObject, io.fileObject);
      mem.setPtr(iopb + L.iopb.TargetInstance, target.filter.instance);
      const P = iopb + L.iopb.Parameters;
      // Create.Options: the disposition in the high byte, the options below ([DOC] FLT_PARAMETERS for IRP_MJ_CREATE)
      if (createDisposition !== undefined) mem.setU32(P + L.params.createOptions, ((createDisposition << 24) | FILE_NON_DIRECTORY_FILE) >>> 0);
      if (major === 'IRP_MJ_WRITE' || major === 'IRP_MJ_READ') {
        buffer = mem.alloc(IO_LENGTH, 'FMbf', 'kernel', { type: 'the caller\'s buffer', zeroed: true, driverWritable: true });
        mem.setU32(P + L.params.length, IO_LENGTH);
        mem.setPtr(P + L.params.buffer, buffer);
      } else if (info !== undefined) {
        const newName = `${path}${RENAME_SUFFIX}`;
        const size = info === 'rename' ? L.rename.FileName + 2 * newName.length : 4;
        buffer = mem.alloc(size, 'FMbf', 'kernel', { type: info === 'rename' ? 'FILE_RENAME_INFORMATION' : 'FILE_DISPOSITION_INFORMATION', zeroed: true });
        if (info === 'rename') {
          mem.setU32(buffer + L.rename.FileNameLength, 2 * newName.length);
          for (let i = 0; i < newName.length; i++) mem.setU16(buffer + L.rename.FileName + 2 * i, newName.charCodeAt(i));
        } else {
          mem.setU8(buffer, 1);
        }
        mem.setU32(P + L.params.length, size);
        mem.setU32(P + L.params.infoClass, info === 'rename' ? FileRenameInformation : FileDispositionInformation);
        mem.setPtr(P + L.params.infoBuffer, buffer);
      }
      mem.setU16(objects, L.objects.size);
      mem.setPtr(objects + L.objects.Filter, target.filter.address);
      mem.setPtr(objects + L.objects.Volume, this.volumeAddress());
      mem.setPtr(objects + L.objects.Instance, target.filter.instance);
      mem.setPtr(objects + L.objects.FileObject, io.fileObject);
      this.callbackData.set(data, { requester: io.requester, file: path });
      const call = { io, major, path, data, objects, filter: target.filter };
      this.calls.set(data, call);
      let post: 'async' | 'sync' | null = 'async';
      const pre = target.reg.PreOperation;
      if (pre !== null) {
        let returned = yield* this.callG(call, 'pre', routineName(pre), () => pre(data, objects, context) >>> 0, PASSIVE_LEVEL, io.thread);
        if (returned === FLT_PREOP_PENDING) returned = yield* this.pendedG(call, data, context, routineName(pre));
        if (returned === null) post = null;
        else if (returned === FLT_PREOP_COMPLETE) {
          const st = mem.u32(data + L.data.Status) >>> 0;
          io.rec.blocked ??= { routine: routineName(pre), major, returned: `FLT_PREOP_COMPLETE (${statusName(st)})` };
          return st;
        } else if (returned === FLT_PREOP_SUCCESS_WITH_CALLBACK) post = 'async';
        else if (returned === FLT_PREOP_SYNCHRONIZE) post = 'sync';
        else post = null;
      }
      const postOp = target.reg.PostOperation;
      // the filter manager owes the post-operation from here, and the operation holds the filter's rundown till it is
      // called: one whose filter began to unregister meanwhile is drained — called with FLTFL_POST_OPERATION_DRAINING
      // before FltUnregisterFilter returns ([DOC] ifs/performing-completion-processing-for-an-i-o-operation;
      // PFLT_POST_OPERATION_CALLBACK: then at IRQL <= APC_LEVEL). CHOICE: drained in this thread at PASSIVE_LEVEL when
      // the operation completes, with its own FLT_CALLBACK_DATA (Windows passes a copy; the driver cannot tell)
      if (post !== null && postOp !== null && (pre !== null || this.filters.includes(target.filter))) this.owe(data, target.filter);
      const done = perform();
      const st = typeof done === 'number' ? done : done.status;
      io.rec.native = statusName(st);
      mem.setU32(data + L.data.Status, st);
      // IoStatus.Information: the bytes a read or write moved, what a create did (FILE_CREATED, FILE_OPENED); 0 for
      // the rest, and for any failure ([DOC] ifs/irp-mj-write, irp-mj-create)
      const information = !NT_SUCCESS(st) ? 0 : typeof done !== 'number' ? done.information : major === 'IRP_MJ_WRITE' || major === 'IRP_MJ_READ' ? IO_LENGTH : 0;
      mem.setPtr(data + L.data.Information, information);
      if (this.awaitingPost.has(data) && postOp !== null && this.ke.cpus.sched?.point(`${routineName(postOp)} starts`) === true) yield;
      // the rundown stays held through the post-operation and the routines it queues (settled in finally)
      const owed = this.awaitingPost.has(data);
      if (owed && postOp !== null && !this.filters.includes(target.filter)) {
        yield* this.callG(call, 'post', routineName(postOp), () => postOp(data, objects, mem.ptr(context), FLTFL_POST_OPERATION_DRAINING) >>> 0, PASSIVE_LEVEL, io.thread, true, false, true);
      } else if (owed && postOp !== null) {
        // CHOICE (above): read and write complete at DISPATCH_LEVEL unless the pre-operation synchronized them
        const atDispatch = post === 'async' && (major === 'IRP_MJ_WRITE' || major === 'IRP_MJ_READ');
        const thread = atDispatch ? this.processes.systemThread() : io.thread;
        const ctx = mem.ptr(context);
        this.inPost.add(data);
        const returned = yield* this.callG(call, 'post', routineName(postOp), () => postOp(data, objects, ctx, 0) >>> 0, atDispatch ? DISPATCH_LEVEL : PASSIVE_LEVEL, thread, true, false);
        const queued = this.safePosts.get(data) ?? [];
        this.safePosts.delete(data);
        if (returned === FLT_POSTOP_MORE_PROCESSING_REQUIRED && queued.length > 0) {
          // FltDoCompletionProcessingWhenSafe queued the rest: the filter manager completes the operation after it
          for (const q of queued) {
            yield* this.callG(call, 'safe-post', routineName(q.routine), () => q.routine(q.data, q.objects, q.context, q.flags) >>> 0, PASSIVE_LEVEL, this.processes.systemThread(), true);
          }
        } else if (returned === FLT_POSTOP_MORE_PROCESSING_REQUIRED) {
          yield* this.pendedPostG(call, data, routineName(postOp));
        }
      }
      return mem.u32(data + L.data.Status) >>> 0;
    } finally {
      this.settle(data);
      this.inPost.delete(data);
      this.pending.pendedPost.delete(data);
      this.calls.delete(data);
      this.pending.pended.delete(data);
      this.callbackData.delete(data);
      this.safePosts.delete(data);
      if (buffer !== 0) mem.free(buffer);
      mem.free(context);
      mem.free(objects);
      mem.free(iopb);
      mem.free(data);
    }
  }

  /** One call of a minifilter routine: what it returned, or null when its filter went away first. */
  /**
   * `held`: the operation holds the filter's rundown (a post-operation owed, and the routines it queued), so its
   * filter's code is there even while it unregisters; `point`: the call is a scheduling point of its own.
   */
  private *callG(call: Call, kind: FltCallbackRecord['kind'], routine: string, fn: () => number, irql: number, thread: KThread, held = false, point = true, draining = false): Generator<void, number | null, void> {
    const { rec, cpus } = this.ke;
    if (point && cpus.sched !== null && cpus.sched.point(`${routine} starts`)) yield;
    // a work item runs while its filter unregisters: FltUnregisterFilter waits for the operation it resumes
    if (kind !== 'work-item' && !held && !this.filters.includes(call.filter)) return null;
    const phase = rec.beginPhase('FltCallback');
    const flt: FltCallbackRecord = {
      routine, kind, altitude: call.filter.altitude, major: call.major, operation: call.io.rec.operation, file: call.path, requester: call.io.requester.pid, irql: irqlName(irql),
      ...(draining ? { draining: true as const } : {}),
    };
    phase.flt = flt;
    const returned = yield* runFilterRoutine(this.ke, call.filter, phase, `minifilter routine ${routine} called for ${call.major}`, irql, thread, fn);
    if (kind === 'pre') {
      flt.returned = PREOP_NAMES[returned] ?? `${returned} (not an FLT_PREOP_CALLBACK_STATUS)`;
    } else if (kind !== 'context-cleanup' && kind !== 'work-item') {
      flt.returned = returned === 0 ? 'FLT_POSTOP_FINISHED_PROCESSING' : returned === 1 ? 'FLT_POSTOP_MORE_PROCESSING_REQUIRED' : String(returned);
    }
    phase.status = flt.returned;
    return returned;
  }

  /** @internal the file of the operation whose FLT_CALLBACK_DATA this is, or undefined */
  fileOf(data: number): string | undefined {
    return this.callbackData.get(data)?.file;
  }
}
