/**
 * IRPs: built by the I/O manager and sent to the driver's dispatch routines, completed (IoCompleteRequest) with the
 * caller's buffer filled, cancelled when their thread exits (IoCancelThreadIo, IoCancelIrp under the cancel spin
 * lock). An IRP stays open from dispatch to completion; completing one that is not open is bug check 0x44.
 */
import type { PDRIVER_CANCEL } from '../ddi.js';
import {
  BugCheck,
  BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
  BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION,
  BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS,
} from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL } from '../ke/irql.js';
import type { ObjectNamespace } from '../ob/namespace.js';
import type { KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import type { IrpRecord, PhaseRecord } from '../record.js';
import { NT_SUCCESS, STATUS_ACCESS_DENIED, STATUS_INVALID_DEVICE_REQUEST, STATUS_PENDING, STATUS_SUCCESS, statusName, type NTSTATUS } from '../status.js';
import { CHECKS } from '../vf/verifier.js';
import { IopInvalidDeviceRequest, type DriverLoader, type DriverObjectState } from './driver-loader.js';
import type { FileObjects, KFileObject } from './files.js';
import {
  IRP_BUFFERED_IO,
  IRP_INPUT_OPERATION,
  IRP_MJ_CLOSE,
  IRP_MJ_CREATE,
  ioStackLocationLayout,
  irpLayout,
  SL_PENDING_RETURNED,
  type IoStackLocationLayout,
  type IrpLayout,
  type TransferMethod,
} from './layouts.js';

/** What the kernel sends with an IRP. */
export interface IrpRequest {
  readonly thread: KThread;
  readonly ioctl?: number;
  readonly file?: KFileObject;
  /** Queued to its thread: cancelled when the thread exits (IoCancelThreadIo). */
  readonly cancellable?: boolean;
  readonly buffers?: IrpBuffers;
}

export interface IrpBuffers {
  readonly method: TransferMethod;
  readonly inputLength: number;
  readonly outputLength: number;
  readonly systemBuffer: number;
  readonly systemLength: number;
  readonly userInput: number;
  readonly userOutput: number;
}

/** An IRP handed to the driver and not yet completed. */
interface OpenIrp {
  readonly phase: PhaseRecord;
  readonly thread: KThread | null;
  readonly file: KFileObject | null;
  readonly buffers: IrpBuffers | null;
}

/** Bytes of a request's output kept in the record. */
const MAX_OUTPUT_KEPT = 4096;

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

export class Irps {
  readonly irpLayout: IrpLayout;
  readonly stackLayout: IoStackLocationLayout;
  /** IRPs handed to the driver and not yet completed, with the Dispatch phase that records them. */
  private readonly openIrps = new Map<number, OpenIrp>();
  private completionCount = 0;
  /** The I/O manager's cancel spin lock (IoAcquireCancelSpinLock), a KSPIN_LOCK in kernel memory. */
  private cancelLockVa = 0;
  /** @internal TypeScript drivers' cancel routines, by the address IoSetCancelRoutine stored for them. */
  readonly cancelRoutines = new Map<number, PDRIVER_CANCEL>();

  constructor(
    private readonly ke: KernelCore,
    private readonly loader: DriverLoader,
    private readonly files: FileObjects,
    private readonly processes: Processes,
    private readonly namespace: ObjectNamespace,
  ) {
    this.irpLayout = irpLayout(ke.build.pointerSize);
    this.stackLayout = ioStackLocationLayout(ke.build.pointerSize);
  }

  /** Some IRP is open (sent and not completed). */
  get anyOpen(): boolean {
    return this.openIrps.size > 0;
  }

  /** @internal */
  get cancelSpinLock(): number {
    if (this.cancelLockVa === 0) this.cancelLockVa = this.ke.mem.alloc(8, 'Iocl', 'kernel', { zeroed: true, driverWritable: true });
    return this.cancelLockVa;
  }

  /**
   * @internal a request to the driver's first device with no file object or buffers (the raw `DeviceRequest`
   * operation): an IRP with one stack location, sent to DriverObject->MajorFunction[major]. False when there is no device.
   */
  *sendIrpG(major: number, majorName: string, ioctl = 0): Generator<void, boolean, void> {
    this.ke.assertRunning();
    const dobj = this.loader.driverObject;
    const state = this.ke.loaded.state;
    if ((state !== 'loaded' && state !== 'pinned') || dobj === null || dobj.DeviceObject === 0) return false;
    const device = this.namespace.devices.find((d) => d.va === dobj.DeviceObject);
    if (major === IRP_MJ_CREATE && device?.exclusive === true && (device.opens ?? 0) > 0) {
      this.refuseOpen(majorName);
      return true;
    }
    const { processes } = this;
    const requester = processes.processes.find((p) => p.state === 'active' && p !== processes.system);
    const returned = yield* this.requestG(major, majorName, { thread: requester === undefined ? processes.systemThread() : processes.creatorThread(requester), ioctl });
    if (device !== undefined && NT_SUCCESS(returned)) {
      if (major === IRP_MJ_CREATE) device.opens = (device.opens ?? 0) + 1;
      if (major === IRP_MJ_CLOSE) device.opens = Math.max(0, (device.opens ?? 0) - 1);
    }
    return true;
  }

  /** An exclusive device is open already: the I/O manager refuses the open, the driver never sees it. */
  refuseOpen(majorName: string): void {
    // [DOC] IoCreateDevice, Exclusive; ReactOS io/iomgr/parse.c IopParseDevice → STATUS_ACCESS_DENIED
    this.refuseRequest({ major: majorName, completions: 0 }, STATUS_ACCESS_DENIED, 'the exclusive device is open already: STATUS_ACCESS_DENIED');
  }

  /** A request the I/O manager fails before any IRP reaches the driver: recorded as a refused Dispatch phase. */
  refuseRequest(irp: IrpRecord, status: NTSTATUS, note: string): void {
    const refused = this.ke.rec.beginPhase('Dispatch');
    refused.irp = irp;
    refused.status = statusName(status);
    refused.outcome = 'refused';
    refused.note = note;
    this.ke.rec.frame = null;
  }

  /**
   * @internal builds an IRP, calls the dispatch routine in the requesting thread's context, and returns what it
   * returned. The IRP stays open until IoCompleteRequest; one the routine pended stays open past the return.
   */
  *requestG(major: number, majorName: string, req: IrpRequest): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    const { mem, rec } = ke;
    const dobj = this.loader.driverObject as DriverObjectState;
    const L = this.irpLayout;
    const S = this.stackLayout;
    const irp = mem.alloc(L.size + S.size, 'Irp ', 'kernel', { type: 'IRP', driverWritable: true });
    const stack = irp + L.size;
    mem.setU16(irp, 6); // IO_TYPE_IRP
    mem.setU16(irp + 2, L.size + S.size);
    mem.setPtr(irp + L.CurrentStackLocation, stack);
    mem.setU8(stack + S.MajorFunction, major);
    mem.setPtr(stack + S.DeviceObject, dobj.DeviceObject);
    mem.setU32(stack + S.IoControlCode, req.ioctl ?? 0);
    const b = req.buffers;
    if (b !== undefined) {
      mem.setU8(irp + L.RequestorMode, 1); // UserMode
      mem.setU32(irp + L.Flags, b.systemBuffer !== 0 ? IRP_BUFFERED_IO | (b.outputLength > 0 ? IRP_INPUT_OPERATION : 0) : 0);
      mem.setPtr(irp + L.SystemBuffer, b.systemBuffer);
      mem.setPtr(irp + L.UserBuffer, b.userOutput);
      mem.setU32(stack + S.OutputBufferLength, b.outputLength);
      mem.setU32(stack + S.InputBufferLength, b.inputLength);
      mem.setPtr(stack + S.Type3InputBuffer, b.userInput);
    }
    if (req.file !== undefined) {
      mem.setPtr(stack + S.FileObject, req.file.va);
      mem.setPtr(irp + L.OriginalFileObject, req.file.va);
      req.file.pending++;
    }
    if (req.cancellable === true) mem.setPtr(irp + L.Thread, req.thread.ethread);
    const phase = rec.beginPhase('Dispatch');
    phase.irp = { major: majorName, completions: 0, ...(req.ioctl !== undefined && req.ioctl !== 0 ? { ioctl: `0x${req.ioctl.toString(16).toUpperCase()}` } : {}) };
    if (req.file !== undefined) {
      phase.irp.load = ke.loaded.entrySeq;
      phase.irp.pid = req.file.process.pid;
      phase.irp.eventsAtSend = rec.record.events?.length ?? 0;
    }
    if (b !== undefined) phase.irp.buffers = { method: b.method, inputLength: b.inputLength, outputLength: b.outputLength };
    if (req.file !== undefined) phase.irp.file = req.file.serial;
    this.openIrps.set(irp, { phase, thread: req.cancellable === true ? req.thread : null, file: req.file ?? null, buffers: b ?? null });
    const dispatch = dobj.MajorFunction[major];
    let returned: NTSTATUS = STATUS_SUCCESS;
    yield* ke.inContext(req.thread, () => ke.runDriverCode(phase, null, () => {
      if (dispatch === IopInvalidDeviceRequest) {
        mem.setU32(irp + L.IoStatus, STATUS_INVALID_DEVICE_REQUEST);
        this.completeIrp(irp);
        returned = STATUS_INVALID_DEVICE_REQUEST;
      } else returned = dispatch(dobj.DeviceObject, irp) >>> 0;
    }));
    phase.irp.returned = statusName(returned);
    phase.status = statusName(returned);
    if (returned === STATUS_PENDING) {
      // IoMarkIrpPending sets SL_PENDING_RETURNED in the stack location; read it unless the IRP is completed already
      const st = this.openIrps.get(irp);
      const marked = st === undefined ? phase.irp.markedPending === true : (mem.u8(stack + S.Control) & SL_PENDING_RETURNED) !== 0;
      phase.irp.markedPending = marked;
    }
    rec.frame = null;
    return returned;
  }

  /**
   * @internal IoCompleteRequest: the IRP goes back to the I/O manager. A buffered request's output (IoStatus.Information
   * bytes of the system buffer) is copied to the caller's buffer when the status is not an error. Its memory is then
   * poisoned (0xDF) but stays mapped, as completion frees it later: a driver that reads it afterwards gets garbage, not
   * a fault. Completing an IRP that is not the driver's to complete is bug check 0x44 ([DOC] bug check 0x44).
   */
  completeIrp(irp: number): void {
    const { ke } = this;
    const { mem, rec } = ke;
    const st = this.openIrps.get(irp);
    if (st === undefined || st.phase.irp === undefined) {
      throw new BugCheck(BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, [mem.canonical(irp), 0, 0, 0], `IoCompleteRequest on ${ke.hex(irp)}, an IRP already completed (or never sent)`);
    }
    const r = st.phase.irp;
    const L = this.irpLayout;
    const cancelRoutine = mem.ptr(irp + L.CancelRoutine);
    if (cancelRoutine !== 0 && ke.verifier.enabled) {
      // I/O verification: IoCompleteRequest while the cancel routine is still set ([DOC] bug check 0xC9, parameter 0x07)
      throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION, [0x07, mem.canonical(cancelRoutine), mem.canonical(irp), 0],
        `IoCompleteRequest on ${ke.hex(irp)} (${r.major}) while its cancel routine is still set`, CHECKS.io);
    }
    const status = mem.u32(irp + L.IoStatus);
    if ((mem.u8(irp + L.size + this.stackLayout.Control) & SL_PENDING_RETURNED) !== 0) r.markedPending = true;
    r.completions++;
    r.completionStatus = statusName(status);
    if (st.file !== null) {
      r.completionOrder = ++this.completionCount;
      r.eventsAtCompletion = rec.record.events?.length ?? 0;
    }
    if (rec.opIndex !== st.phase.op) r.completedAtOp = rec.opIndex;
    const b = st.buffers;
    if (b !== null) {
      const information = mem.ptr(irp + L.Information);
      r.information = information;
      // the I/O manager copies Information bytes back for a buffered request that did not fail ([WRK] io/iomgr/internal.c
      // IopCompleteRequest: "if (!NT_ERROR(Irp->IoStatus.Status) ... RtlCopyMemory(UserBuffer, SystemBuffer, Information)")
      if (b.systemBuffer !== 0 && b.outputLength > 0 && status < 0xc0000000 && information > 0) {
        const n = Math.min(information, b.systemLength);
        const bytes = mem.slice(b.systemBuffer, n);
        if (b.userOutput !== 0) mem.slice(b.userOutput, Math.min(n, b.outputLength)).set(bytes.subarray(0, Math.min(n, b.outputLength)));
        r.output = hexBytes(bytes.subarray(0, Math.min(n, b.outputLength, MAX_OUTPUT_KEPT)));
      } else if (b.systemBuffer === 0 && b.userOutput !== 0 && status < 0xc0000000 && information > 0) {
        r.output = hexBytes(mem.slice(b.userOutput, Math.min(information, b.outputLength, MAX_OUTPUT_KEPT)));
      }
      if (b.systemBuffer !== 0) mem.free(b.systemBuffer);
    }
    this.openIrps.delete(irp);
    ke.cpus.syncRelease(irp);
    mem.fill(irp, this.irpLayout.size + this.stackLayout.size, 0xdf);
    const f = st.file;
    if (f !== null && --f.pending === 0 && f.state === 'cleaned-up') this.files.ioWork.push(f);
    // a listening client asks again after a request that returned something (one that returned nothing would spin)
    if (f !== null && f.listen !== undefined && f.state === 'open' && status < 0x80000000 && (r.information ?? 0) > 0) this.files.reissue.push(f);
  }

  /**
   * @internal IoCancelThreadIo: a thread exits, and the I/O manager cancels each IRP it issued that is still pending
   * ([WRK] io/iomgr/iosubs.c IoCancelThreadIo, from PspExitThread). CHOICE: after the thread's exit notification.
   */
  *cancelThreadIo(t: KThread): Generator<void, void, void> {
    const { ke } = this;
    const cancelled: [number, OpenIrp][] = [];
    for (const [irp, st] of [...this.openIrps]) {
      if (st.thread !== t || !this.openIrps.has(irp)) continue;
      if (ke.halted) return;
      cancelled.push([irp, st]);
      yield* this.cancelIrpG(irp, st);
    }
    // the exiting thread waits for its cancelled IRPs to be completed (Windows gives up after 5 minutes): on several
    // CPUs another may still complete them; a wait nothing can end is a hang, reported with its wait chain
    for (const [irp, st] of cancelled) {
      if (!this.openIrps.has(irp) || ke.halted) continue;
      const s = ke.cpus.sched;
      if (s !== null && s.running !== null) {
        s.running.routine = 'IoCancelThreadIo';
        s.block({ what: `the ${st.phase.irp?.major ?? 'IRP'} it issued (op ${st.phase.op}), cancelled and not completed by its driver`, ready: () => !this.openIrps.has(irp), sync: irp });
        yield;
        ke.cpus.syncAcquire(irp);
      }
      if (this.openIrps.has(irp) && st.phase.irp !== undefined) st.phase.irp.uncompletedAfterCancel = true;
    }
  }

  /**
   * IoCancelIrp ([DOC] IoCancelIrp; [WRK] io/iomgr/iosubs.c): under the cancel spin lock, Irp->Cancel is set and the
   * cancel routine exchanged with NULL; if there was one it is called at DISPATCH_LEVEL holding the lock, with the IRQL
   * to restore in Irp->CancelIrql, and must release it (IoReleaseCancelSpinLock).
   */
  private *cancelIrpG(irp: number, st: OpenIrp): Generator<void, void, void> {
    const { ke } = this;
    const { mem, rec, loaded, cpus } = ke;
    const L = this.irpLayout;
    const lock = this.cancelSpinLock;
    const s = cpus.sched;
    while (mem.ptr(lock) !== 0) {
      if (s === null || s.running === null) break; // one CPU: nobody else can hold it
      s.block({ what: `the cancel spin lock ${ke.hex(lock)}`, ready: () => mem.ptr(lock) === 0, lock });
      yield;
    }
    mem.setPtr(lock, 1);
    cpus.lockAcquired(lock);
    mem.setU8(irp + L.Cancel, 1);
    const pointer = mem.ptr(irp + L.CancelRoutine);
    mem.setPtr(irp + L.CancelRoutine, 0);
    if (st.phase.irp !== undefined) st.phase.irp.cancelledAtOp = rec.opIndex;
    if (pointer === 0) {
      mem.setPtr(lock, 0);
      cpus.lockReleased(lock);
      return;
    }
    const routine = this.cancelRoutines.get(pointer) ?? loaded.instance?.routineAt?.(pointer) ?? null;
    const phase = rec.beginPhase('Cancel');
    phase.note = `cancel routine of the ${st.phase.irp?.major ?? 'IRP'} sent at op ${st.phase.op}`;
    if (loaded.state !== 'loaded' || routine === null) {
      ke.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [mem.canonical(pointer), 0, 0, 0],
        `the cancel routine of a pending ${st.phase.irp?.major ?? 'IRP'} is in the driver's image, which is no longer loaded`), 'Cancel', phase.seq);
    }
    mem.setU8(irp + L.CancelIrql, PASSIVE_LEVEL);
    let entered = false;
    const dev = mem.ptr(irp + L.size + this.stackLayout.DeviceObject);
    yield* ke.runDriverCode(phase, null, () => {
      if (!entered) {
        entered = true;
        ke.verifier.acquired(lock, 'spin lock', DISPATCH_LEVEL);
      }
      (routine as PDRIVER_CANCEL)(dev, irp);
    }, false);
    phase.status = statusName(STATUS_SUCCESS);
    rec.frame = null;
  }
}
