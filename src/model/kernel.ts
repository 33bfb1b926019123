/**
 * The simulated NT kernel: processes and threads, the CID table, the object manager's reference counts, the
 * notify-routine tables and their delivery order, the device/link namespace, driver load and unload, DbgPrint,
 * the fault plan, and the recorder of ground truth. Pure and deterministic: the same calls give the same bytes.
 * Each behaviour's source is in docs/kernel-semantics.md.
 */
import { hex8 } from './rtl/hex.js';
import {
  BugCheck,
  faultingFunction,
  VerifierStop,
  BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
  BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED,
  BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION,
  BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS,
  BUGCHECK_REFERENCE_BY_POINTER,
  bugCheckName,
} from './ke/bugcheck.js';
import { imageFileNameChars, isExported, type OsBuild } from './builds.js';
import { CidTable, type CidReusePolicy } from './ps/cid-table.js';
import {
  FAULT_ALIASES,
  IRP_MJ_CLEANUP,
  IRP_MJ_CLOSE,
  IRP_MJ_CREATE,
  IRP_MJ_DEVICE_CONTROL,
  IRP_MJ_MAXIMUM_FUNCTION,
  IRP_MJ_READ,
  type PDRIVER_CANCEL,
  type PCREATE_PROCESS_NOTIFY_ROUTINE_EX,
  type PsCreateNotifyInfoLayout,
  type IoStackLocationLayout,
  type IrpLayout,
  type DriverImage,
  type DriverInstance,
  type DRIVER_OBJECT,
  type ImageInfoLayout,
  type PCREATE_PROCESS_NOTIFY_ROUTINE,
  type PCREATE_THREAD_NOTIFY_ROUTINE,
  type PDRIVER_DISPATCH,
  type PDRIVER_UNLOAD,
  type PLOAD_IMAGE_NOTIFY_ROUTINE,
  type WasmAddressSpace,
} from './ddi.js';
import { releaseDdiSurface, takeDdiSurface, type DdiSurface } from './ddi-surface.js';
import { TEST_MACHINE_FILTER, type DebugPrintFilter } from './dbg/dbgprint.js';
import { KernelMemory, PoolExhausted, Shadow } from './mm/memory.js';
import { CHECKS, Verifier, type VerifierThreadState } from './vf/verifier.js';
import { DISPATCH_LEVEL, PASSIVE_LEVEL } from './ke/irql.js';
import { Scheduler, WouldBlock, type Task, type Wait } from './ke/scheduler.js';
import { RaceDetector } from './ke/race-detector.js';
import { cpuStackSlice, MAX_CPUS, SLICE_GUARD_BYTES, type Schedule } from './ke/schedule.js';
import {
  DEVICE_OBJECT_FLAGS, DO_BUFFERED_IO, DO_DIRECT_IO, fileObjectLayout, ioctlMethod, ioStackLocationLayout, IRP_BUFFERED_IO, IRP_INPUT_OPERATION, irpLayout,
  SL_PENDING_RETURNED, type TransferMethod,
} from './io/layouts.js';
import type { DeviceEntry } from './ob/namespace.js';
import { ObjectNamespace } from './ob/namespace.js';
import { NotifyTable, type NotifyKind, type NotifySlot } from './ps/notify-tables.js';
import { OB_OPERATION_HANDLE_CREATE, OB_OPERATION_HANDLE_DUPLICATE, obInformationLayout, type ObRegistration } from './ob-callbacks.js';
import { fnv1a, mulberry32 } from './rtl/prng.js';
import {
  RUN_RECORD_FORMAT,
  type CallbackRecord,
  type CallbackTruth,
  type DdiCallRecord,
  type EndState,
  type IrpRecord,
  type KernelEventRecord,
  type NotificationKind,
  type OpRecord,
  type PhaseRecord,
  type PrintRecord,
  type Residue,
  type RunRecord,
} from './record.js';
import {
  STATUS_ACCESS_DENIED,
  STATUS_ACCESS_VIOLATION,
  STATUS_PENDING,
  NT_SUCCESS,
  STATUS_DRIVER_ENTRYPOINT_NOT_FOUND,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_SUCCESS,
  statusName,
  type NTSTATUS,
} from './status.js';

/** Named alternatives where sources disagree (DESIGN.md "Modelling decisions"). */
export interface KernelProfile {
  readonly id: 'documented' | 'adversarial';
  /**
   * After a failed DriverEntry (or an unload) that leaves device objects: 'freed' = the image is freed, as the
   * documentation says ([DOC] kernel/unload-routine-environment.md); 'pinned-by-devices' = every device object
   * references the driver object, so the image stays resident and its routines keep firing ([WRK] io/iomgr).
   */
  readonly leakedDeviceImage: 'freed' | 'pinned-by-devices';
  /** Order of the initial thread's thread notify relative to the process notify (NT 5.2: process first; Vista+ UNCONFIRMED). */
  readonly initialThreadNotify: 'process-first' | 'thread-first';
  /** Whether exit ops may carry a lookup race (the PID gone or reused when the driver looks it up). */
  readonly exitLookupRaces: boolean;
}

export const PROFILES: Readonly<Record<'documented' | 'adversarial', KernelProfile>> = {
  documented: { id: 'documented', leakedDeviceImage: 'freed', initialThreadNotify: 'process-first', exitLookupRaces: false },
  adversarial: { id: 'adversarial', leakedDeviceImage: 'freed', initialThreadNotify: 'process-first', exitLookupRaces: true },
};

export interface FaultSpec {
  /** DDI name (one of FAULTABLE_DDIS). */
  readonly ddi: string;
  /** Fail the n-th call (1-based) the driver makes to it. */
  readonly nth: number;
  /** NTSTATUS to return (pool allocations return NULL instead). */
  readonly status: NTSTATUS;
}

export interface Crowding {
  readonly process: number;
  readonly thread: number;
  readonly image: number;
}

export interface KernelOptions {
  readonly build: OsBuild;
  readonly profile: KernelProfile;
  readonly reusePolicy: CidReusePolicy;
  readonly driver: DriverImage;
  readonly faults?: readonly FaultSpec[];
  readonly crowding?: Crowding;
  /** A low-memory machine: the bytes of pool the driver may hold before allocations return NULL. */
  readonly poolQuota?: number;
  /**
   * For a driver compiled to WebAssembly: kernel VAs equal linear-memory offsets (base 0), and the bottom of
   * memory up to `reservedLow` (the driver's stack and data) is not kernel pool.
   */
  readonly wasm?: WasmAddressSpace;
  /** The verifier's checks (docs/verifier.md): on unless switched off for comparison. */
  readonly verifier?: boolean;
  /** What DbgPrintEx (and DbgPrint from Vista) lets through to the debugger: a test machine's by default. */
  readonly debugPrintFilter?: DebugPrintFilter;
  /** The driver image has IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY (linked with /INTEGRITYCHECK). Default true. */
  readonly integrityCheck?: boolean;
  /** Several CPUs will run: load the driver's fibers build when it has one (docs/concurrency.md). */
  readonly fibers?: boolean;
}

export type ProcessState = 'active' | 'exited' | 'deleted';

export interface KProcess {
  readonly serial: number;
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly imagePath: string | null;
  readonly eprocess: number;
  readonly threads: KThread[];
  activeThreads: number;
  state: ProcessState;
  pointerCount: number;
  driverRefs: number;
  userImages: number;
  /** When it was created (FILETIME, from the simulated clock). */
  readonly createTime: bigint;
  /** Terminal Services session: 0 for System, 1 for every other process (CHOICE: one interactive session). */
  readonly sessionId: number;
  /** Its PEB's user-mode address (NULL for System). */
  readonly peb: number;
}

export interface KThread {
  readonly serial: number;
  readonly tid: number;
  readonly process: KProcess;
  readonly ethread: number;
  state: ProcessState;
  pointerCount: number;
  driverRefs: number;
}

/** A file object a client opened on the driver's device (CreateFile through its symbolic link). */
export interface KFileObject {
  /** Its number among the file objects of the run (IrpRecord.file). */
  readonly serial: number;
  readonly va: number;
  readonly process: KProcess;
  /** The DEVICE_OBJECT it was opened on. */
  readonly device: number;
  /** open; cleaned-up (its handle closed: IRP_MJ_CLEANUP sent); closing (IRP_MJ_CLOSE in progress); closed. */
  state: 'open' | 'cleaned-up' | 'closing' | 'closed';
  /** IRPs sent on it and not yet completed: each holds a reference to it. */
  pending: number;
  /**
   * A listening client (the "inverted call" of a monitoring service): it keeps one DeviceIoControl with this code
   * outstanding, sending the next as soon as one completes successfully, until it closes the handle.
   */
  readonly listen?: { readonly ioctl: number; readonly outputLength: number };
}

/** What the kernel sends with an IRP. */
interface IrpRequest {
  readonly thread: KThread;
  readonly ioctl?: number;
  readonly file?: KFileObject;
  /** Queued to its thread: cancelled when the thread exits (IoCancelThreadIo). */
  readonly cancellable?: boolean;
  readonly buffers?: IrpBuffers;
}

interface IrpBuffers {
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

/** A claimed buffer length above this comes with a 64-byte buffer: the caller lies about its size. */
const HUGE_CLAIM = 0x10000;
/** Requests listening clients send again in one go (a driver that always has something would loop forever). */
const MAX_REISSUES = 8;
/** Bytes of a request's output kept in the record. */
const MAX_OUTPUT_KEPT = 4096;

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

export type CidObject = { readonly kind: 'process'; readonly p: KProcess } | { readonly kind: 'thread'; readonly t: KThread };

type ProcessRoutine = PCREATE_PROCESS_NOTIFY_ROUTINE | PCREATE_PROCESS_NOTIFY_ROUTINE_EX;
type ThreadRoutine = PCREATE_THREAD_NOTIFY_ROUTINE;
type ImageRoutine = PLOAD_IMAGE_NOTIFY_ROUTINE;

/** Thrown after a bug check to unwind the operation in progress; the machine is dead. */
/** Runs a thread of execution to its end (one CPU: nothing switches it out). */
export function drive<T>(g: Generator<void, T, void>): T {
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/** One notification to deliver: the table whose routines are called, what they are told, and how each is called. */
interface Notification<F> {
  readonly table: NotifyTable<F>;
  readonly kind: NotifyKind;
  readonly create: boolean;
  readonly truth: CallbackTruth;
  /** The arguments as the record shows them; `argsFor` when they differ by routine (the Ex process routines). */
  readonly args: Record<string, string | number | boolean | null>;
  readonly argsFor?: (routine: F) => Record<string, string | number | boolean | null>;
  readonly call: (routine: F) => void;
  /** The kernel event it delivers (several CPUs: no one's to miss if a load or unload overlapped it). */
  readonly event: { whileLoaded: boolean; load?: number };
  /** Runs when the delivery is over, however it ended (frees what the routines were passed). */
  readonly after?: () => void;
}

/** The imports of a driver image that a build does not export, per image and build (every boot asks). */
const MISSING_IMPORTS = new WeakMap<DriverImage, Map<string, readonly string[]>>();
function missingImports(image: DriverImage, build: OsBuild): readonly string[] {
  let byBuild = MISSING_IMPORTS.get(image);
  if (byBuild === undefined) MISSING_IMPORTS.set(image, (byBuild = new Map()));
  let missing = byBuild.get(build.id);
  if (missing === undefined) byBuild.set(build.id, (missing = image.imports.filter((d) => !isExported(build, d))));
  return missing;
}

/**
 * What a notification delivered on one CPU leaves to run: nothing. `yield* (n ?? NOTHING)` steps over it without a
 * generator made per call (one CPU never switches, so the routines were called already).
 */
const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });
const NOTHING: Iterator<void, void, void> & Iterable<void> = {
  next: () => DONE,
  [Symbol.iterator]: () => NOTHING,
};

const NO_LOCKS: readonly number[] = [];
const hex32 = (v: number): string => '0x' + hex8(v);

/** What every object callback of one handle open shares. */
interface ObjectCallbackCall {
  readonly options: { readonly duplicate: boolean; readonly kernelHandle: boolean };
  readonly type: 'process' | 'thread';
  readonly id: number;
  readonly requester: KProcess;
  readonly thread: KThread;
}

/** The buffer of one CPU's suspended driver frames (the driver's stacks are slices of its image's stack). */
const FIBER_BUFFER_BYTES = 0x4000;

/** What a thread of execution takes with it when it is switched out. */
export interface ThreadState {
  readonly current: KThread;
  readonly frame: Kernel['frame'];
  readonly opIndex: number;
  readonly opRecord: OpRecord | null;
  readonly verifier: VerifierThreadState | null;
}

export class KernelHalted extends Error {
  constructor() {
    // thrown once per halted run to unwind it (shrinking replays many): its stack would never be read
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('the kernel has bug-checked');
    Error.stackTraceLimit = limit;
    this.name = 'KernelHalted';
  }
}

const ETHREAD_SIZE = { 4: 0x258, 8: 0x4c0 } as const;
/** Filler templates (pure functions of their key, so sharing them across kernels keeps runs deterministic). */
const TEMPLATES = new Map<string, Uint8Array>();
const DRIVER_OBJECT_SIZE = { 4: 0xa8, 8: 0x150 } as const;

type DriverImageState = EndState['driver']['image'];

/** IopInvalidDeviceRequest: what the I/O manager puts in every MajorFunction slot before DriverEntry. */
const IopInvalidDeviceRequest: PDRIVER_DISPATCH = () => STATUS_INVALID_DEVICE_REQUEST;

export class Kernel {
  readonly build: OsBuild;
  readonly profile: KernelProfile;
  readonly mem: KernelMemory;
  readonly verifier: Verifier;
  readonly cids: CidTable<CidObject>;
  readonly processTable: NotifyTable<ProcessRoutine>;
  readonly threadTable: NotifyTable<ThreadRoutine>;
  readonly imageTable: NotifyTable<ImageRoutine>;
  readonly namespace = new ObjectNamespace();
  readonly system: KProcess;
  readonly processes: KProcess[] = [];
  readonly threads: KThread[] = [];
  readonly record: RunRecord;
  readonly imageInfo: ImageInfoLayout;
  readonly createInfo: PsCreateNotifyInfoLayout;
  readonly irpLayout: IrpLayout;
  readonly stackLayout: IoStackLocationLayout;
  /** IRPs handed to the driver and not yet completed, with the Dispatch phase that records them. */
  private readonly openIrps = new Map<number, OpenIrp>();
  /** Stack garbage an uninitialised pointer holds: unmapped, so reading through it faults. */
  readonly uninitializedPointer: number;

  private readonly driverImage: DriverImage;
  private readonly wasmSpace: WasmAddressSpace | undefined;
  private readonly fibersWanted: boolean;
  private readonly faults: readonly FaultSpec[];
  /** @internal bytes of pool the driver may hold (the build's limit, or a low-memory scenario's) */
  readonly poolQuota: number;
  /** @internal the debugger's print filter (DbgPrintEx) */
  readonly debugPrintFilter: DebugPrintFilter;
  /** @internal linked with /INTEGRITYCHECK */
  readonly integrityCheck: boolean;
  private readonly ddiCalls = new Map<string, number>();
  private readonly objectsByVa = new Map<number, CidObject>();
  private readonly routineAddress = new Map<unknown, number>();
  private readonly pidOwners = new Map<number, readonly string[]>();
  /** Process routines registered through the Ex/Ex2 calls (called with EPROCESS, PID, CreateInfo). */
  /** @internal */ readonly exProcessRoutines = new Set<unknown>();
  /** Thread routines registered with PsCreateThreadNotifyNonSystem (create notify on the new thread). */
  /** @internal */ readonly newThreadContextRoutines = new Set<unknown>();
  private serial = 0;
  private seq = 0;
  private opIndex = -1;
  /** @internal the thread the kernel is running on */ current: KThread;
  private instance: DriverInstance | null = null;
  /** @internal */ driverObject: (DRIVER_OBJECT & { DeviceObject: number }) | null = null;
  private imageState: DriverImageState = 'never';
  private imageBase = 0;
  private systemImages = 0;
  private loads = 0;
  /** seq of the DriverEntry phase of the current load. */
  private entrySeq = 0;
  /** @internal where DDI calls and prints of the driver code now running are recorded */
  frame: { ddi: DdiCallRecord[]; prints: PrintRecord[]; cb: CallbackRecord | null; phase?: PhaseRecord } | null = null;
  private crashed = false;

  constructor(options: KernelOptions) {
    this.build = options.build;
    this.profile = options.profile;
    this.driverImage = options.driver;
    this.wasmSpace = options.wasm;
    this.fibersWanted = options.fibers === true;
    this.faults = options.faults ?? [];
    this.poolQuota = Math.min(options.poolQuota ?? Number.POSITIVE_INFINITY, this.build.poolLimit);
    this.debugPrintFilter = options.debugPrintFilter ?? TEST_MACHINE_FILTER;
    this.integrityCheck = options.integrityCheck ?? true;
    const ps = this.build.pointerSize;
    this.mem = options.wasm === undefined
      ? new KernelMemory(this.build.kernelVaBase, ps, 2, 0, 0, true)
      // an x86 WebAssembly driver's addresses are its memory offsets; an x64 one sees the kernel at its canonical
      // addresses above its own image (docs/x64.md)
      : new KernelMemory(ps === 8 ? this.build.kernelVaBase : 0, ps, Math.max(4, Math.ceil((options.wasm.reservedLow + 0x10000) / 0x10000), Math.ceil((options.wasm.minPages ?? 0) / 2)), options.wasm.reservedLow, ps === 8 ? options.wasm.reservedLow : 0);
    if (options.wasm?.stackGuard !== undefined) {
      const [a, b] = options.wasm.stackGuard;
      this.mem.mark(a, b - a, Shadow.StackGuard);
    }
    if (options.wasm?.readOnly !== undefined) {
      const [a, b] = options.wasm.readOnly;
      this.mem.mark(a, b - a, Shadow.ImageReadOnly);
    }
    this.verifier = new Verifier({ mem: this.mem, eprocess: this.build.eprocess, pointerSize: ps, hex: (va) => this.hex(va) }, options.verifier ?? true);
    this.uninitializedPointer = ps === 4 ? 0xcccccccc : 0xcccc_cccc_cccc;
    this.cids = new CidTable<CidObject>(options.reusePolicy, 4);
    this.processTable = new NotifyTable('process', this.build.capacity.process);
    this.threadTable = new NotifyTable('thread', this.build.capacity.thread);
    this.imageTable = new NotifyTable('image', this.build.capacity.image);
    this.imageInfo = ps === 4
      ? { Properties: 0, ImageBase: 4, ImageSelector: 8, ImageSize: 12, ImageSectionNumber: 16 }
      : { Properties: 0, ImageBase: 8, ImageSelector: 16, ImageSize: 24, ImageSectionNumber: 32 };
    this.irpLayout = irpLayout(ps);
    this.stackLayout = ioStackLocationLayout(ps);
    this.createInfo = ps === 4
      ? { Size: 0, Flags: 4, ParentProcessId: 8, CreatingThreadId: 12, FileObject: 20, ImageFileName: 24, CommandLine: 28, CreationStatus: 32, size: 36 }
      : { Size: 0, Flags: 8, ParentProcessId: 16, CreatingThreadId: 24, FileObject: 40, ImageFileName: 48, CommandLine: 56, CreationStatus: 64, size: 72 };
    this.record = {
      format: RUN_RECORD_FORMAT,
      build: this.build.id,
      profile: this.profile.id,
      reusePolicy: options.reusePolicy,
      driver: this.driverImage.name,
      uninitializedPointer: this.mem.hex(this.uninitializedPointer),
      ops: [],
      phases: [],
      callbacks: [],
      bugCheck: null,
      events: [],
      verifierStop: null,
      end: null,
    };
    // The System process and one system thread exist before anything else ([WRK] ps/psinit.c).
    this.system = this.newProcess(this.build.systemPid, 0, 'System', null);
    this.current = this.newThread(this.system);
    const crowd = options.crowding ?? { process: 0, thread: 0, image: 0 };
    for (let i = 0; i < crowd.process; i++) this.processTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverProcessNotify');
    for (let i = 0; i < crowd.thread; i++) this.threadTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverThreadNotify');
    for (let i = 0; i < crowd.image; i++) this.imageTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverImageNotify');
    this.kernelStructures(crowd);
  }

  /**
   * The kernel's own structures a driver could reach by scanning memory (it has no symbol for them): the three
   * notify-routine arrays (EX_CALLBACK slots, [WRK] ps/psnotify.c), the CID handle table, and a pool block of each
   * other driver in the tables. They are never the driver's to write: a store into one is `kernel-memory-owned`,
   * naming it.
   */
  private kernelStructures(crowd: Crowding): void {
    const ps = this.build.pointerSize;
    const arrays: [string, NotifyTable<unknown>][] = [
      ['PspCreateProcessNotifyRoutine', this.processTable], ['PspCreateThreadNotifyRoutine', this.threadTable], ['PspLoadImageNotifyRoutine', this.imageTable],
    ];
    for (const [type, table] of arrays) {
      const va = this.mem.alloc(table.slots.length * ps, 'Ps  ', 'kernel', { type });
      table.slots.forEach((s, i) => {
        // an EX_FAST_REF to the callback block, reference bits set: plausible, never dereferenced here
        if (s !== null) this.mem.setPtr(va + i * ps, this.build.kernelVaBase + 0x8000 + 0x40 * i + 0xf);
      });
    }
    this.mem.alloc(0x400, 'PsCd', 'kernel', { type: 'PspCidTable (handle table)' });
    const others = Math.max(crowd.process, crowd.thread, crowd.image);
    for (let i = 0; i < others; i++) this.mem.alloc(64, 'Othr', `OtherDriver${i}`, { type: 'pool', foreign: true });
  }

  get halted(): boolean {
    return this.crashed;
  }

  get driverName(): string {
    return this.driverImage.name;
  }

  get driverState(): DriverImageState {
    return this.imageState;
  }

  /** Marks the start of scenario operation `index` (for the record's timeline). */
  beginOp(index: number, op: unknown): void {
    this.opIndex = index;
    this.sinceBoot += 100_000n; // 10 ms per operation
    this.opRecord = { index, op, outcome: 'done' };
    this.record.ops.push(this.opRecord);
  }

  endOp(outcome: 'done' | 'skipped', note?: string): void {
    const r = this.opRecord;
    if (r === null || this.crashed) return;
    r.outcome = outcome;
    if (note !== undefined) r.note = note;
  }

  // ------------------------------------------------------------------ objects

  /** @internal the simulated clock, in 100 ns units since boot (KeQuerySystemTime and its kin). */
  sinceBoot = 0n;
  /** @internal kernel handles the driver opened (ObOpenObjectByPointer), by handle value. */
  readonly kernelHandles = new Map<number, CidObject>();
  /** @internal the next kernel handle's index */
  nextKernelHandle = 1;

  private objectTypes: { readonly type: number; readonly cell: number }[] | null = null;

  /**
   * @internal the OBJECT_TYPEs of processes (0) and threads (1), and the exported variables PsProcessType and
   * PsThreadType that point at them: made on first use, so drivers that never ask see the same addresses as before
   */
  objectType(index: 0 | 1): { readonly type: number; readonly cell: number } {
    if (this.objectTypes === null) {
      const ps = this.build.pointerSize;
      const cells = this.mem.alloc(2 * ps, 'ObjT', 'kernel', { type: 'PsProcessType/PsThreadType' });
      this.objectTypes = [0, 1].map((i) => {
        const type = this.mem.alloc(ps === 4 ? 0x90 : 0xd8, 'ObjT', 'kernel', { type: i === 0 ? 'OBJECT_TYPE Process' : 'OBJECT_TYPE Thread' });
        this.mem.setPtr(cells + i * ps, type);
        return { type, cell: cells + i * ps };
      });
    }
    return this.objectTypes[index];
  }

  /** @internal object-callback registrations (ObRegisterCallbacks) of the driver under test */
  readonly obRegistrations: ObRegistration[] = [];

  /**
   * A process opens (or duplicates) a handle to a process or thread: the registered pre-operation object callbacks
   * run in the requester's context at PASSIVE_LEVEL, each seeing the DesiredAccess the previous one left (CHOICE:
   * in ascending altitude order), then the post-operation ones with the access granted — never more than was asked
   * for (CHOICE: bits a callback adds are not granted). [DOC] ObRegisterCallbacks, OB_PRE_OPERATION_INFORMATION.
   */
  openHandle(requester: KProcess, target: CidObject, access: number, options: { readonly duplicate: boolean; readonly kernelHandle: boolean }): void {
    drive(this.openHandleG(requester, target, access, options));
  }

  /** @internal */
  *openHandleG(requester: KProcess, target: CidObject, access: number, options: { readonly duplicate: boolean; readonly kernelHandle: boolean }): Generator<void, void, void> {
    this.assertRunning();
    const type = target.kind;
    const op = options.duplicate ? OB_OPERATION_HANDLE_DUPLICATE : OB_OPERATION_HANDLE_CREATE;
    const matching = this.obRegistrations
      .slice().sort((a, b) => (a.altitude < b.altitude ? -1 : a.altitude > b.altitude ? 1 : 0))
      .flatMap((r) => r.operations.filter((o) => o.type === type && (o.ops & op) !== 0).map((o) => ({ r, o })));
    if (matching.length === 0) return;
    const ps = this.build.pointerSize;
    const L = obInformationLayout(ps);
    const object = target.kind === 'process' ? target.p.eprocess : target.t.ethread;
    const id = target.kind === 'process' ? target.p.pid : target.t.tid;
    // the object manager holds a reference on the object while the handle is made (several CPUs: the process may
    // exit meanwhile, its object stays until this open is over)
    if (target.kind === 'process') target.p.pointerCount++;
    else target.t.pointerCount++;
    const info = this.mem.alloc(L.size, 'ObCb', 'kernel', { type: 'OB_PRE_OPERATION_INFORMATION' });
    const params = this.mem.alloc(L.parametersSize, 'ObCb', 'kernel', { type: 'OB_PRE_CREATE_HANDLE_INFORMATION', driverWritable: true });
    // the callback may set CallContext for its post-operation routine; the rest is the kernel's
    this.mem.mark(info + L.CallContext, ps, Shadow.Owned);
    this.mem.setU32(info + L.Operation, op);
    this.mem.setU32(info + L.Flags, options.kernelHandle ? 1 : 0);
    this.mem.setPtr(info + L.Object, object);
    this.mem.setPtr(info + L.ObjectType, this.objectType(type === 'process' ? 0 : 1).type);
    this.mem.setPtr(info + L.PreParameters, params);
    this.mem.setU32(params, access);
    this.mem.setU32(params + 4, access);
    if (options.duplicate) {
      this.mem.setPtr(params + 8, requester.eprocess);
      this.mem.setPtr(params + 8 + ps, requester.eprocess);
    }
    const thread = requester === this.system ? this.systemThread() : this.creatorThread(requester);
    const call: ObjectCallbackCall = { options, type, id, requester, thread };
    let desired = access >>> 0;
    for (const { r, o } of matching) {
      if (o.pre === null) continue;
      const pre = o.pre;
      const phase = yield* this.objectCallback(call, 'pre', r, pre, () => { pre(r.context, info); }, desired);
      desired = this.mem.u32(params) >>> 0;
      if (phase?.handle !== undefined) phase.handle.desiredAccessAfter = hex32(desired);
    }
    const granted = (desired & access) >>> 0;
    // OB_POST_OPERATION_INFORMATION: ReturnStatus, then Parameters → OB_POST_CREATE_HANDLE_INFORMATION { GrantedAccess }
    this.mem.setU32(info + L.PostReturnStatus, STATUS_SUCCESS);
    this.mem.setPtr(info + L.PostParameters, params);
    this.mem.setU32(params, granted);
    for (const { r, o } of matching) {
      if (o.post === null) continue;
      const post = o.post;
      yield* this.objectCallback(call, 'post', r, post, () => { post(r.context, info); }, granted);
    }
    this.mem.free(params);
    this.mem.free(info);
    if (target.kind === 'process') this.dereferenceProcess(target.p);
    else this.dereferenceThread(target.t);
  }

  /** One object callback of an open (a method, not a closure made per open: test/model/heap.test.ts says why). */
  private *objectCallback(call: ObjectCallbackCall, callback: 'pre' | 'post', r: ObRegistration, routineFn: unknown, fn: () => void, desired: number): Generator<void, PhaseRecord | null, void> {
    const { options, type, id, requester, thread } = call;
    // several CPUs: a scheduling point before the kernel takes the registration (it may be gone after it)
    if (this.sched !== null && this.sched.point(`${this.routineName(routineFn)} starts`)) yield;
    if (!this.obRegistrations.includes(r)) return null;
    const phase = this.beginPhase('ObjectCallback');
    const routine = this.routineName(routineFn);
    phase.handle = {
      callback, routine, altitude: r.altitude, operation: options.duplicate ? 'duplicate' : 'create', objectType: type, target: id,
      requester: requester.pid, kernelHandle: options.kernelHandle, desiredAccess: hex32(desired),
    };
    if (this.imageState === 'unloaded' || this.imageState === 'failed-load') {
      // the routine's code is gone ([DOC] bug-check-0xce)
      phase.outcome = 'bugcheck';
      this.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0],
        `object ${callback}-operation callback ${routine} (altitude ${r.altitude}) called after ${this.driverImage.name}.sys was unloaded`), 'ObjectCallback', phase.seq);
    }
    // CHOICE: ObUnRegisterCallbacks waits for callbacks in progress, as the notify-routine removals do (the WDK only
    // says it must be called before unloading, which is safe only if so)
    this.inflight.set(r, (this.inflight.get(r) ?? 0) + 1);
    if (this.sched !== null) this.syncAcquire(r.handle);
    try {
      yield* this.inContext(thread, () => this.runDriverCode(phase, null, fn, false));
    } finally {
      this.inflight.set(r, (this.inflight.get(r) ?? 1) - 1);
      if (this.sched !== null) this.syncRelease(r.handle);
    }
    this.frame = null;
    return phase;
  }

  /** @internal the system time now (FILETIME: 100 ns units since 1601); every query moves the clock 1 µs. */
  systemTime(): bigint {
    this.sinceBoot += 10n;
    return BOOT_FILETIME + this.sinceBoot;
  }

  private nextSerial(): number {
    return ++this.serial;
  }

  /**
   * Unmodelled fields hold plausible data (zeros, pool pointers, counters), so a read at a wrong offset returns
   * wrong bytes, not zeros. One deterministic template per build and object size, copied in: cheap and stable.
   */
  private fillPlausible(va: number, size: number): void {
    const key = `${this.build.id}/${size}`;
    let t = TEMPLATES.get(key);
    if (t === undefined) {
      const scratch = new KernelMemory(this.build.kernelVaBase, this.build.pointerSize, 1);
      const at = scratch.alloc(size, 'tmpl', 'kernel');
      const rnd = mulberry32(fnv1a(key));
      const ps = this.build.pointerSize;
      for (let off = 0; off + ps <= size; off += ps) {
        const r = rnd() % 10;
        if (r < 4) continue;
        if (r < 7) scratch.setPtr(at + off, this.build.kernelVaBase + 0x10000 + (rnd() % 0x400000) * 8);
        else if (r < 9) scratch.setU32(at + off, rnd() % 0x400);
        else scratch.setU32(at + off, rnd());
      }
      t = scratch.slice(at, size).slice();
      TEMPLATES.set(key, t);
    }
    this.mem.setBytes(va, t);
  }

  /**
   * A process object and its EPROCESS. Its PID comes from a fresh CID entry (`null`), a fixed one (the System
   * process), or is borrowed without an entry (the adversarial profile's interloper, which never runs threads).
   */
  private newProcess(pid: number | null | { borrowed: number }, ppid: number, name: string, imagePath: string | null): KProcess {
    const layout = this.build.eprocess;
    const serial = this.nextSerial();
    const eprocess = this.mem.alloc(layout.size, 'Proc', 'kernel', { type: 'EPROCESS' });
    this.fillPlausible(eprocess, layout.size);
    const system = this.system === undefined;
    const proc: KProcess = {
      serial, pid: 0, ppid, name: '', imagePath, eprocess, threads: [], activeThreads: 0,
      state: 'active', pointerCount: 1, driverRefs: 0, userImages: 0,
      createTime: system ? BOOT_FILETIME : this.systemTime(), sessionId: system ? 0 : 1,
      // a PEB near the top of the user address space (x86: below 0x7FFE0000; x64: in the low 2^40), one page each
      peb: system ? 0 : this.build.pointerSize === 4 ? 0x7ffdf000 - 0x1000 * (serial % 0x40) : 0x3e_0000_0000 + 0x1000 * serial,
    };
    const entry: CidObject = { kind: 'process', p: proc };
    let id: number;
    if (pid === null) id = this.cids.create(entry);
    else if (typeof pid === 'object') id = pid.borrowed;
    else {
      this.cids.createAt(pid, entry);
      id = pid;
    }
    // ImageFileName: the last path component, each WCHAR narrowed by truncation, at most sizeof-1 chars, then NUL
    // ([WRK] mm/procsup.c).
    const base = name.slice(name.lastIndexOf('\\') + 1);
    const stored = Array.from(base.slice(0, imageFileNameChars(this.build)), (c) => String.fromCharCode(c.charCodeAt(0) & 0xff)).join('');
    const p = proc as { -readonly [K in keyof KProcess]: KProcess[K] };
    p.pid = id;
    p.name = stored;
    this.mem.fill(eprocess + layout.ImageFileName, layout.ImageFileNameSize, 0);
    for (let i = 0; i < stored.length; i++) this.mem.setU8(eprocess + layout.ImageFileName + i, stored.charCodeAt(i));
    this.mem.setPtr(eprocess + layout.UniqueProcessId, id);
    this.mem.setPtr(eprocess + layout.InheritedFromUniqueProcessId, ppid);
    const links = (this.system ?? proc).eprocess + layout.ActiveProcessLinks;
    this.mem.setPtr(eprocess + layout.ActiveProcessLinks, links);
    this.mem.setPtr(eprocess + layout.ActiveProcessLinks + this.build.pointerSize, links);
    this.objectsByVa.set(eprocess, entry);
    this.processes.push(proc);
    return proc;
  }

  private newThread(process: KProcess): KThread {
    const ps = this.build.pointerSize;
    const serial = this.nextSerial();
    // ETHREAD contents are not modelled (no driver here reads them): zero-filled, unlike EPROCESS
    const ethread = this.mem.alloc(ETHREAD_SIZE[ps], 'Thre', 'kernel', { type: 'ETHREAD' });
    const t: KThread = { serial, tid: 0, process, ethread, state: 'active', pointerCount: 1, driverRefs: 0 };
    const entry: CidObject = { kind: 'thread', t };
    (t as { tid: number }).tid = this.cids.create(entry);
    this.objectsByVa.set(ethread, entry);
    process.threads.push(t);
    process.activeThreads++;
    process.pointerCount++; // a thread references its process until the thread object is deleted
    this.threads.push(t);
    return t;
  }

  private deleteProcess(p: KProcess): void {
    p.state = 'deleted';
    this.cids.destroy(p.pid);
    // distinct earlier owners' names; a new array when it changes, so records keep their snapshot without copies
    const owners = this.pidOwners.get(p.pid) ?? [];
    if (!owners.includes(p.name)) this.pidOwners.set(p.pid, [...owners, p.name]);
    this.objectsByVa.delete(p.eprocess);
    this.mem.free(p.eprocess);
  }

  private deleteThread(t: KThread): void {
    t.state = 'deleted';
    this.cids.destroy(t.tid);
    this.objectsByVa.delete(t.ethread);
    this.mem.free(t.ethread);
    this.dereferenceProcess(t.process);
  }

  /** A reference dropped from an object whose count is already spent: the object is gone ([DOC] bug check 0x18). */
  private overDereferenced(kind: string, id: number, va: number): never {
    const cb = this.frame?.cb ?? null;
    return this.crash(new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, this.mem.canonical(va), 0, 0],
      `reference count of ${kind} ${id} went below zero (an extra ObDereferenceObject freed it early)`), cb !== null ? 'callback' : 'kernel', cb?.seq ?? null);
  }

  /** @internal */
  dereferenceProcess(p: KProcess): void {
    if (p.pointerCount <= 0 || p.state === 'deleted') this.overDereferenced('process', p.pid, p.eprocess);
    p.pointerCount--;
    if (p.pointerCount === 0) this.deleteProcess(p);
  }

  /** @internal */
  dereferenceThread(t: KThread): void {
    if (t.pointerCount <= 0 || t.state === 'deleted') this.overDereferenced('thread', t.tid, t.ethread);
    t.pointerCount--;
    if (t.pointerCount === 0) this.deleteThread(t);
  }

  private creatorThread(p: KProcess): KThread {
    return p.threads.find((t) => t.state === 'active' && t.process.state === 'active') ?? this.systemThread();
  }

  private systemThread(): KThread {
    return this.system.threads[0];
  }

  // ------------------------------------------------------------------ kernel operations

  /**
   * NtCreateUserProcess / PspCreateProcess + PspCreateThread: the process and its initial thread are created,
   * then (creator's context) the process notify and the initial thread's thread notify; when the initial thread
   * first runs (new process's context) the image notify for the main EXE, then for ntdll.dll ([WRK] ps/create.c,
   * dbgk/dbgkproc.c; [DOC] nc-ntddk-pload_image_notify_routine.md).
   * `imagePath === null`: the EXE's name could not be obtained, so FullImageName is NULL ([WRK] DbgkCreateThread).
   */
  createProcess(parent: KProcess, imagePath: string | null, name: string, creatorProcess?: KProcess): { process: KProcess; thread: KThread } {
    return drive(this.createProcessG(parent, imagePath, name, creatorProcess));
  }

  /** @internal createProcess as a thread of execution that may be switched out at its scheduling points */
  *createProcessG(parent: KProcess, imagePath: string | null, name: string, creatorProcess?: KProcess): Generator<void, { process: KProcess; thread: KThread }, void> {
    this.assertRunning();
    // The parent (InheritedFromUniqueProcessId) need not be the creator: PROC_THREAD_ATTRIBUTE_PARENT_PROCESS
    // ([DOC] ns-ntddk-_ps_create_notify_info.md: ParentProcessId vs CreatingThreadId).
    const creator = this.creatorThread(creatorProcess ?? parent);
    const proc = this.newProcess(null, parent.pid, name, imagePath);
    const thread = this.newThread(proc);
    // the context switches are inline (not inContext): the hot path of every run
    const saved = this.current;
    try {
      this.current = creator;
      if (this.profile.initialThreadNotify === 'process-first') {
        yield* this.notifyProcess(proc, true, undefined, creator) ?? NOTHING;
        yield* this.notifyThread(thread, true) ?? NOTHING;
      } else {
        yield* this.notifyThread(thread, true) ?? NOTHING;
        yield* this.notifyProcess(proc, true, undefined, creator) ?? NOTHING;
      }
      this.current = thread;
      yield* this.notifyImage(proc, imagePath, this.build.userImageBase, imageSize(name)) ?? NOTHING;
      yield* this.notifyImage(proc, '\\SystemRoot\\System32\\ntdll.dll', ntdllBase(this.build), 0x1a0000) ?? NOTHING;
    } finally {
      this.current = saved;
    }
    return { process: proc, thread };
  }

  /** PspCreateThread for a further thread, notified in the creator's context (a thread of the same process). */
  createThread(process: KProcess): KThread {
    return drive(this.createThreadG(process));
  }

  /** @internal */
  *createThreadG(process: KProcess): Generator<void, KThread, void> {
    this.assertRunning();
    const creator = this.creatorThread(process);
    const t = this.newThread(process);
    const saved = this.current;
    try {
      this.current = creator;
      yield* this.notifyThread(t, true) ?? NOTHING;
    } finally {
      this.current = saved;
    }
    return t;
  }

  /**
   * PspExitThread: the thread notify (exiting thread's context); the last thread then sends the process notify
   * in its own context ([WRK] ps/psdelete.c). The kernel then drops its own references; an object and its CID
   * entry go when the last reference does.
   */
  exitThread(t: KThread, race?: 'gone' | 'reused'): void {
    drive(this.exitThreadG(t, race));
  }

  /** @internal */
  *exitThreadG(t: KThread, race?: 'gone' | 'reused'): Generator<void, void, void> {
    this.assertRunning();
    if (t.state !== 'active') return;
    const p = t.process;
    const processExited = race === undefined || !this.profile.exitLookupRaces
      ? yield* this.exitThreadNotified(t, race)
      : yield* this.withRace(p, race, () => this.exitThreadNotified(t, race));
    if (processExited) this.dereferenceProcess(p); // the kernel's own reference: handles are closed at exit
    this.dereferenceThread(t);
  }

  /**
   * PspExitThread's notifications and I/O cleanup, in the exiting thread's context; whether the process exited
   * with it (a method, not a closure made per exit: test/model/heap.test.ts says why).
   */
  private *exitThreadNotified(t: KThread, race: 'gone' | 'reused' | undefined): Generator<void, boolean, void> {
    const p = t.process;
    let processExited = false;
    const saved = this.current;
    try {
      this.current = t;
      yield* this.notifyThread(t, false, race) ?? NOTHING;
      t.state = 'exited';
      p.activeThreads--;
      const last = p.activeThreads === 0;
      if (last) {
        yield* this.notifyProcess(p, false, race) ?? NOTHING;
        p.state = 'exited';
        processExited = true;
      }
      // PspExitThread: the exit notifications, then IoCancelThreadIo, then (last thread) ObKillProcess closes the
      // handle table ([WRK] ps/psdelete.c; our reading of its order)
      if (this.openIrps.size > 0) yield* this.cancelThreadIo(t);
      if (last && this.fileSerial > 0) yield* this.closeProcessHandles(p, t);
    } finally {
      this.current = saved;
    }
    return processExited;
  }

  /** NtTerminateProcess: every thread exits (creation order); the last one sends the process notify. */
  exitProcess(p: KProcess, race?: 'gone' | 'reused'): void {
    drive(this.exitProcessG(p, race));
  }

  /** @internal */
  *exitProcessG(p: KProcess, race?: 'gone' | 'reused'): Generator<void, void, void> {
    for (const t of [...p.threads]) {
      if (this.crashed) return;
      if (t.state === 'active') yield* this.exitThreadG(t, race);
    }
  }

  /**
   * An image mapped into a user process (a DLL; notified in that process's context) or a driver image
   * (process === null: ProcessId 0, SystemModeImage 1; [WRK] mm/sysload.c).
   */
  loadImage(process: KProcess | null, path: string | null, name: string): void {
    drive(this.loadImageG(process, path, name));
  }

  /** @internal */
  *loadImageG(process: KProcess | null, path: string | null, name: string): Generator<void, void, void> {
    this.assertRunning();
    if (process === null) {
      const base = this.build.systemImageBase + 0x100000 * ++this.systemImages;
      yield* this.inContext(this.systemThread(), () => this.notifyImage(null, path, base, imageSize(name)) ?? NOTHING);
      return;
    }
    const base = dllBase(this.build, ++process.userImages);
    const saved = this.current;
    try {
      this.current = this.creatorThread(process);
      yield* this.notifyImage(process, path, base, imageSize(name)) ?? NOTHING;
    } finally {
      this.current = saved;
    }
  }

  // ------------------------------------------------------------------ driver load / unload

  /**
   * IopLoadDriver: the image is mapped (image notify with ProcessId 0 to routines already registered), then
   * DriverEntry runs in the System process. A failed DriverEntry: Unload is never called and the image is freed
   * (or pinned by its device objects, per profile).
   */
  /**
   * A long-running machine: the processes and threads created from now on get client IDs from `first` up (the CID
   * table has grown that far; [WRK] ex/handle.c: IDs are handle-table indices × 4, with no 16-bit limit).
   */
  advanceClientIds(first: number): void {
    this.cids.skipTo(first);
  }

  loadDriver(): NTSTATUS {
    return drive(this.loadDriverG());
  }

  /** @internal */
  *loadDriverG(): Generator<void, NTSTATUS, void> {
    return yield* this.lifecycleOp(this.loadDriverSteps());
  }

  private *loadDriverSteps(): Generator<void, NTSTATUS, void> {
    this.assertRunning();
    if (this.imageState === 'loaded' || this.imageState === 'pinned') return STATUS_INVALID_DEVICE_REQUEST;
    const name = this.driverImage.name;
    const phase = this.beginPhase('Load');
    const missing = missingImports(this.driverImage, this.build);
    if (missing.length > 0) {
      phase.status = statusName(STATUS_DRIVER_ENTRYPOINT_NOT_FOUND);
      phase.outcome = 'refused';
      phase.note = `imports not exported by ${this.build.id}: ${missing.join(', ')}`;
      this.frame = null;
      this.imageState = this.imageState === 'never' ? 'failed-load' : this.imageState;
      return STATUS_DRIVER_ENTRYPOINT_NOT_FOUND;
    }
    this.frame = null;
    this.loads++;
    this.imageBase = this.build.systemImageBase + 0x100000 * ++this.systemImages;
    yield* this.inContext(this.systemThread(), () => this.notifyImage(null, `\\SystemRoot\\System32\\drivers\\${name}.sys`, this.imageBase, 0x3000) ?? NOTHING);
    const ps = this.build.pointerSize;
    const doVa = this.mem.alloc(DRIVER_OBJECT_SIZE[ps], 'Driv', 'kernel', { type: 'DRIVER_OBJECT', driverWritable: true });
    // Type, Size, and MajorFunction[] pre-filled with IopInvalidDeviceRequest ([WRK] io/iomgr/internal.c)
    this.mem.setU16(doVa, 4);
    this.mem.setU16(doVa + 2, DRIVER_OBJECT_SIZE[ps]);
    for (let i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) this.mem.setPtr(doVa + (ps === 4 ? 0x38 : 0x70) + i * ps, this.build.systemImageBase + 0x1230);
    const driverObject = {
      address: doVa,
      DriverUnload: null as PDRIVER_UNLOAD | null,
      MajorFunction: new Array<PDRIVER_DISPATCH>(IRP_MJ_MAXIMUM_FUNCTION + 1).fill(IopInvalidDeviceRequest),
      DeviceObject: 0,
    };
    this.driverObject = driverObject;
    this.instance = this.fibersWanted && this.driverImage.instantiateFibers !== undefined ? this.driverImage.instantiateFibers() : this.driverImage.instantiate();
    this.instances.push(this.instance);
    this.imageState = 'loaded';
    const registryPath = this.allocUnicodeString(`\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${name}`, 'kernel');
    const entry = this.beginPhase('DriverEntry');
    this.entrySeq = entry.seq;
    const instance = this.instance;
    const surface = takeDdiSurface(this);
    this.surfaces.push(surface);
    const ddi = surface.ddi;
    let status: NTSTATUS = STATUS_SUCCESS;
    yield* this.inContext(this.systemThread(), () => this.runDriverCode(entry, null, () => {
      status = instance.DriverEntry(ddi, driverObject, registryPath) >>> 0;
    }));
    entry.status = statusName(status);
    this.frame = null;
    if (NT_SUCCESS(status)) {
      const mine = this.driverImage.name;
      entry.interface = {
        devices: this.namespace.devices.filter((d) => d.owner === mine).map((d) => ({ name: d.name, exclusive: d.exclusive === true })),
        links: [...this.namespace.links.values()].filter((l) => l.owner === mine).map((l) => ({ name: l.name, target: l.target })),
      };
    }
    if (!NT_SUCCESS(status)) {
      entry.residue = this.residue();
      this.releaseImage();
    }
    return status;
  }

  /**
   * A request to the driver's first device with no file object or buffers (the raw `DeviceRequest` operation): an IRP
   * with one stack location, sent to DriverObject->MajorFunction[major]. Returns false when there is no device.
   */
  sendIrp(major: number, majorName: string, ioctl = 0): boolean {
    return drive(this.sendIrpG(major, majorName, ioctl));
  }

  /** @internal */
  *sendIrpG(major: number, majorName: string, ioctl = 0): Generator<void, boolean, void> {
    this.assertRunning();
    const dobj = this.driverObject;
    if ((this.imageState !== 'loaded' && this.imageState !== 'pinned') || dobj === null || dobj.DeviceObject === 0) return false;
    const device = this.namespace.devices.find((d) => d.va === dobj.DeviceObject);
    if (major === IRP_MJ_CREATE && device?.exclusive === true && (device.opens ?? 0) > 0) {
      this.refuseOpen(majorName);
      return true;
    }
    const requester = this.processes.find((p) => p.state === 'active' && p !== this.system);
    const returned = yield* this.requestG(major, majorName, { thread: requester === undefined ? this.systemThread() : this.creatorThread(requester), ioctl });
    if (device !== undefined && NT_SUCCESS(returned)) {
      if (major === IRP_MJ_CREATE) device.opens = (device.opens ?? 0) + 1;
      if (major === IRP_MJ_CLOSE) device.opens = Math.max(0, (device.opens ?? 0) - 1);
    }
    return true;
  }

  /** An exclusive device is open already: the I/O manager refuses the open, the driver never sees it. */
  private refuseOpen(majorName: string): void {
    // [DOC] IoCreateDevice, Exclusive; ReactOS io/iomgr/parse.c IopParseDevice → STATUS_ACCESS_DENIED
    this.refuseRequest({ major: majorName, completions: 0 }, STATUS_ACCESS_DENIED, 'the exclusive device is open already: STATUS_ACCESS_DENIED');
  }

  /** A request the I/O manager fails before any IRP reaches the driver: recorded as a refused Dispatch phase. */
  private refuseRequest(irp: IrpRecord, status: NTSTATUS, note: string): void {
    const refused = this.beginPhase('Dispatch');
    refused.irp = irp;
    refused.status = statusName(status);
    refused.outcome = 'refused';
    refused.note = note;
    this.frame = null;
  }

  /**
   * Builds an IRP, calls the dispatch routine in the requesting thread's context, and returns what it returned. The
   * IRP stays in `openIrps` until IoCompleteRequest; one the routine pended stays there past the return.
   */
  private *requestG(major: number, majorName: string, req: IrpRequest): Generator<void, NTSTATUS, void> {
    const dobj = this.driverObject as NonNullable<Kernel['driverObject']>;
    const L = this.irpLayout;
    const S = this.stackLayout;
    const irp = this.mem.alloc(L.size + S.size, 'Irp ', 'kernel', { type: 'IRP', driverWritable: true });
    const stack = irp + L.size;
    this.mem.setU16(irp, 6); // IO_TYPE_IRP
    this.mem.setU16(irp + 2, L.size + S.size);
    this.mem.setPtr(irp + L.CurrentStackLocation, stack);
    this.mem.setU8(stack + S.MajorFunction, major);
    this.mem.setPtr(stack + S.DeviceObject, dobj.DeviceObject);
    this.mem.setU32(stack + S.IoControlCode, req.ioctl ?? 0);
    const b = req.buffers;
    if (b !== undefined) {
      this.mem.setU8(irp + L.RequestorMode, 1); // UserMode
      this.mem.setU32(irp + L.Flags, b.systemBuffer !== 0 ? IRP_BUFFERED_IO | (b.outputLength > 0 ? IRP_INPUT_OPERATION : 0) : 0);
      this.mem.setPtr(irp + L.SystemBuffer, b.systemBuffer);
      this.mem.setPtr(irp + L.UserBuffer, b.userOutput);
      this.mem.setU32(stack + S.OutputBufferLength, b.outputLength);
      this.mem.setU32(stack + S.InputBufferLength, b.inputLength);
      this.mem.setPtr(stack + S.Type3InputBuffer, b.userInput);
    }
    if (req.file !== undefined) {
      this.mem.setPtr(stack + S.FileObject, req.file.va);
      this.mem.setPtr(irp + L.OriginalFileObject, req.file.va);
      req.file.pending++;
    }
    if (req.cancellable === true) this.mem.setPtr(irp + L.Thread, req.thread.ethread);
    const phase = this.beginPhase('Dispatch');
    phase.irp = { major: majorName, completions: 0, ...(req.ioctl !== undefined && req.ioctl !== 0 ? { ioctl: `0x${req.ioctl.toString(16).toUpperCase()}` } : {}) };
    if (req.file !== undefined) {
      phase.irp.load = this.entrySeq;
      phase.irp.pid = req.file.process.pid;
      phase.irp.eventsAtSend = this.record.events?.length ?? 0;
    }
    if (b !== undefined) phase.irp.buffers = { method: b.method, inputLength: b.inputLength, outputLength: b.outputLength };
    if (req.file !== undefined) phase.irp.file = req.file.serial;
    this.openIrps.set(irp, { phase, thread: req.cancellable === true ? req.thread : null, file: req.file ?? null, buffers: b ?? null });
    const dispatch = dobj.MajorFunction[major];
    let returned: NTSTATUS = STATUS_SUCCESS;
    yield* this.inContext(req.thread, () => this.runDriverCode(phase, null, () => {
      if (dispatch === IopInvalidDeviceRequest) {
        this.mem.setU32(irp + L.IoStatus, STATUS_INVALID_DEVICE_REQUEST);
        this.completeIrp(irp);
        returned = STATUS_INVALID_DEVICE_REQUEST;
      } else returned = dispatch(dobj.DeviceObject, irp) >>> 0;
    }));
    phase.irp.returned = statusName(returned);
    phase.status = statusName(returned);
    if (returned === STATUS_PENDING) {
      // IoMarkIrpPending sets SL_PENDING_RETURNED in the stack location; read it unless the IRP is completed already
      const st = this.openIrps.get(irp);
      const marked = st === undefined ? phase.irp.markedPending === true : (this.mem.u8(stack + S.Control) & SL_PENDING_RETURNED) !== 0;
      phase.irp.markedPending = marked;
    }
    this.frame = null;
    return returned;
  }

  /**
   * @internal IoCompleteRequest: the IRP goes back to the I/O manager. A buffered request's output (IoStatus.Information
   * bytes of the system buffer) is copied to the caller's buffer when the status is not an error. Its memory is then
   * poisoned (0xDF) but stays mapped, as completion frees it later: a driver that reads it afterwards gets garbage, not
   * a fault. Completing an IRP that is not the driver's to complete is bug check 0x44 ([DOC] bug check 0x44).
   */
  completeIrp(irp: number): void {
    const st = this.openIrps.get(irp);
    if (st === undefined || st.phase.irp === undefined) {
      throw new BugCheck(BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, [this.mem.canonical(irp), 0, 0, 0], `IoCompleteRequest on ${this.hex(irp)}, an IRP already completed (or never sent)`);
    }
    const rec = st.phase.irp;
    const L = this.irpLayout;
    const cancelRoutine = this.mem.ptr(irp + L.CancelRoutine);
    if (cancelRoutine !== 0 && this.verifier.enabled) {
      // I/O verification: IoCompleteRequest while the cancel routine is still set ([DOC] bug check 0xC9, parameter 0x07)
      throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION, [0x07, this.mem.canonical(cancelRoutine), this.mem.canonical(irp), 0],
        `IoCompleteRequest on ${this.hex(irp)} (${rec.major}) while its cancel routine is still set`, CHECKS.io);
    }
    const status = this.mem.u32(irp + L.IoStatus);
    if ((this.mem.u8(irp + L.size + this.stackLayout.Control) & SL_PENDING_RETURNED) !== 0) rec.markedPending = true;
    rec.completions++;
    rec.completionStatus = statusName(status);
    if (st.file !== null) {
      rec.completionOrder = ++this.completionCount;
      rec.eventsAtCompletion = this.record.events?.length ?? 0;
    }
    if (this.opIndex !== st.phase.op) rec.completedAtOp = this.opIndex;
    const b = st.buffers;
    if (b !== null) {
      const information = this.mem.ptr(irp + L.Information);
      rec.information = information;
      // the I/O manager copies Information bytes back for a buffered request that did not fail ([WRK] io/iomgr/internal.c
      // IopCompleteRequest: "if (!NT_ERROR(Irp->IoStatus.Status) ... RtlCopyMemory(UserBuffer, SystemBuffer, Information)")
      if (b.systemBuffer !== 0 && b.outputLength > 0 && status < 0xc0000000 && information > 0) {
        const n = Math.min(information, b.systemLength);
        const bytes = this.mem.slice(b.systemBuffer, n);
        if (b.userOutput !== 0) this.mem.slice(b.userOutput, Math.min(n, b.outputLength)).set(bytes.subarray(0, Math.min(n, b.outputLength)));
        rec.output = hexBytes(bytes.subarray(0, Math.min(n, b.outputLength, MAX_OUTPUT_KEPT)));
      } else if (b.systemBuffer === 0 && b.userOutput !== 0 && status < 0xc0000000 && information > 0) {
        rec.output = hexBytes(this.mem.slice(b.userOutput, Math.min(information, b.outputLength, MAX_OUTPUT_KEPT)));
      }
      if (b.systemBuffer !== 0) this.mem.free(b.systemBuffer);
    }
    this.openIrps.delete(irp);
    this.syncRelease(irp);
    this.mem.fill(irp, this.irpLayout.size + this.stackLayout.size, 0xdf);
    const f = st.file;
    if (f !== null && --f.pending === 0 && f.state === 'cleaned-up') this.ioWork.push(f);
    // a listening client asks again after a request that returned something (one that returned nothing would spin)
    if (f !== null && f.listen !== undefined && f.state === 'open' && status < 0x80000000 && (rec.information ?? 0) > 0) this.reissue.push(f);
  }

  // ------------------------------------------------------------------ a user-mode client of the driver's device

  /** Client I/O the kernel owes once the current operation's driver code has returned (closes, a deferred unload). */
  private readonly ioWork: KFileObject[] = [];
  /** Listening clients whose request just completed: each sends the next one. */
  private readonly reissue: KFileObject[] = [];
  private fileSerial = 0;
  private completionCount = 0;
  /** Every file object a client opened in this run. */
  private readonly files: KFileObject[] = [];
  /** NtUnloadDriver came while file objects were open on the driver's devices: DriverUnload runs when the last closes. */
  private unloadDeferred = false;
  private unloading = false;
  /** The I/O manager's cancel spin lock (IoAcquireCancelSpinLock), a KSPIN_LOCK in kernel memory. */
  private cancelLockVa = 0;
  /** @internal TypeScript drivers' cancel routines, by the address IoSetCancelRoutine stored for them. */
  readonly cancelRoutines = new Map<number, PDRIVER_CANCEL>();

  /** @internal */
  get cancelSpinLock(): number {
    if (this.cancelLockVa === 0) this.cancelLockVa = this.mem.alloc(8, 'Iocl', 'kernel', { zeroed: true, driverWritable: true });
    return this.cancelLockVa;
  }

  /** The device a client reaches through the driver's symbolic link: its DEVICE_OBJECT, or a reason there is none. */
  private clientDevice(): DeviceEntry | string {
    const dobj = this.driverObject;
    if (this.imageState !== 'loaded' || dobj === null) return 'the driver is not loaded';
    const mine = this.driverImage.name;
    for (const l of this.namespace.links.values()) {
      if (l.owner !== mine) continue;
      const d = this.namespace.devices.find((x) => x.owner === mine && x.name === l.target);
      if (d !== undefined) return d;
    }
    return 'the driver has no symbolic link to a device';
  }

  /**
   * CreateFile on the driver's symbolic link, by a thread of `process`: a FILE_OBJECT and IRP_MJ_CREATE. Returns the
   * open file, or why there is none (no link, an exclusive device already open, the driver refused it).
   */
  *openDeviceG(process: KProcess, listen?: KFileObject['listen']): Generator<void, KFileObject | string, void> {
    this.assertRunning();
    const device = this.clientDevice();
    if (typeof device === 'string') return device;
    // an unload waiting for the last close: new opens fail ([WRK] io/iomgr/parse.c: DOE_UNLOAD_PENDING → STATUS_DELETE_PENDING)
    if (this.unloadPending) return 'the driver\'s unload is pending: STATUS_DELETE_PENDING';
    if (device.exclusive === true && (device.opens ?? 0) > 0) {
      this.refuseOpen('IRP_MJ_CREATE');
      return 'the exclusive device is open already';
    }
    const F = fileObjectLayout(this.build.pointerSize);
    const va = this.mem.alloc(F.size, 'File', 'kernel', { type: 'FILE_OBJECT', zeroed: true, driverWritable: true });
    this.mem.setU16(va, 5); // IO_TYPE_FILE
    this.mem.setU16(va + 2, F.size);
    this.mem.setPtr(va + F.DeviceObject, device.va);
    const file: KFileObject = { serial: ++this.fileSerial, va, process, device: device.va, state: 'open', pending: 0, ...(listen !== undefined ? { listen } : {}) };
    this.files.push(file);
    // the device's reference count holds the driver while the file is open (IopParseDevice / IopDeleteFile)
    device.opens = (device.opens ?? 0) + 1;
    const status = yield* this.requestG(IRP_MJ_CREATE, 'IRP_MJ_CREATE', { thread: this.creatorThread(process), file });
    if (!NT_SUCCESS(status) || status === STATUS_PENDING) {
      // a failed create: the file object is deleted without IRP_MJ_CLEANUP or IRP_MJ_CLOSE ([DOC] IRP_MJ_CREATE)
      file.state = 'closed';
      device.opens = Math.max(0, (device.opens ?? 0) - 1);
      if (file.pending === 0) this.mem.free(va);
      return `IRP_MJ_CREATE returned ${statusName(status)}`;
    }
    if (listen !== undefined) yield* this.deviceRequestG(file, 'IRP_MJ_DEVICE_CONTROL', listen.ioctl, 0, listen.outputLength, 0);
    return file;
  }

  /**
   * DeviceIoControl (or ReadFile, major IRP_MJ_READ) on an open file, by the first running thread of its process. The
   * caller's buffers are user memory of the lengths it claims, except that a "huge" claim (> 64 KB) comes with a
   * 64-byte buffer: the I/O manager's probe of a buffered request then fails and the driver never sees it; a
   * METHOD_NEITHER request passes the claim on unprobed, as Windows does.
   */
  *deviceRequestG(file: KFileObject, major: 'IRP_MJ_DEVICE_CONTROL' | 'IRP_MJ_READ', ioctl: number, inputLength: number, outputLength: number, fill: number): Generator<void, string | undefined, void> {
    this.assertRunning();
    if (file.state !== 'open') return 'the handle is closed';
    const thread = this.creatorThread(file.process);
    if (thread.process !== file.process) return `${file.process.name} has no running thread`;
    const dobj = this.driverObject;
    if (dobj === null || this.imageState !== 'loaded') return 'the driver is not loaded';
    let method: TransferMethod;
    if (major === 'IRP_MJ_READ') {
      const flags = this.mem.u32(file.device + DEVICE_OBJECT_FLAGS[this.build.pointerSize]);
      method = (flags & DO_BUFFERED_IO) !== 0 ? 'METHOD_BUFFERED' : (flags & DO_DIRECT_IO) !== 0 ? 'METHOD_OUT_DIRECT' : 'METHOD_NEITHER';
      inputLength = 0;
    } else method = ioctlMethod(ioctl);
    if (method === 'METHOD_IN_DIRECT' || method === 'METHOD_OUT_DIRECT') return `${method} (MDLs) is not modelled`;
    const actual = (n: number): number => (n > HUGE_CLAIM ? 64 : n);
    const userInput = inputLength > 0 ? this.userBuffer(file.process, actual(inputLength), fill) : 0;
    const userOutput = outputLength > 0 ? this.userBuffer(file.process, actual(outputLength), 0) : 0;
    let systemBuffer = 0;
    let systemLength = 0;
    if (method === 'METHOD_BUFFERED') {
      if (inputLength > HUGE_CLAIM || outputLength > HUGE_CLAIM) {
        // NtDeviceIoControlFile / NtReadFile probe the caller's buffers for the claimed lengths: the probe fails
        this.refuseRequest({ major, completions: 0, ...(ioctl !== 0 ? { ioctl: `0x${ioctl.toString(16).toUpperCase()}` } : {}), buffers: { method, inputLength, outputLength } },
          STATUS_ACCESS_VIOLATION, 'the caller\'s buffer is smaller than the length it claims: the I/O manager\'s probe fails (STATUS_ACCESS_VIOLATION)');
        return undefined;
      }
      // one nonpaged system buffer of max(input, output), the input copied in ([DOC] Buffer Descriptions for I/O Control Codes)
      systemLength = Math.max(inputLength, outputLength);
      if (systemLength > 0) {
        systemBuffer = this.mem.alloc(systemLength, 'IoSb', 'kernel', { type: 'system buffer', driverWritable: true });
        this.mem.fill(systemBuffer, systemLength, 0);
        if (inputLength > 0) this.mem.slice(systemBuffer, inputLength).set(this.mem.slice(userInput, inputLength));
        this.mem.markWritten(systemBuffer, systemLength);
      }
    }
    const neither = method === 'METHOD_NEITHER';
    yield* this.requestG(major === 'IRP_MJ_READ' ? IRP_MJ_READ : IRP_MJ_DEVICE_CONTROL, major, {
      thread, file, cancellable: true, ioctl: major === 'IRP_MJ_READ' ? 0 : ioctl,
      buffers: {
        method, inputLength, outputLength, systemBuffer, systemLength,
        userInput: neither ? userInput : 0, userOutput: neither || systemBuffer !== 0 ? userOutput : 0,
      },
    });
    // what the completion left to do (a listening client's next request) is the operation's, after it (opSteps):
    // doing it here would nest one ioWorkG per request, and MAX_REISSUES would bound nothing
    return undefined;
  }

  /** A block of the client's memory. CHOICE: the model has one address space, so it lies among kernel addresses. */
  private userBuffer(process: KProcess, length: number, fill: number): number {
    const va = this.mem.alloc(length, 'User', `user:${process.pid}`, { type: 'user buffer', driverWritable: true });
    this.mem.fill(va, length, fill);
    this.mem.markWritten(va, length);
    return va;
  }

  /**
   * CloseHandle on the last handle to the file: IRP_MJ_CLEANUP now; IRP_MJ_CLOSE when no IRP on the file is left
   * (each pending IRP holds a reference to the file object), and with it a deferred unload ([DOC] IRP_MJ_CLEANUP,
   * IRP_MJ_CLOSE).
   */
  *closeHandleG(file: KFileObject, thread: KThread = this.creatorThread(file.process)): Generator<void, string | undefined, void> {
    this.assertRunning();
    if (file.state !== 'open') return 'the handle is closed';
    file.state = 'cleaned-up';
    yield* this.requestG(IRP_MJ_CLEANUP, 'IRP_MJ_CLEANUP', { thread, file });
    if (file.pending === 0 && !this.ioWork.includes(file)) this.ioWork.push(file);
    yield* this.ioWorkG();
    return undefined;
  }

  /** @internal whether completions left the I/O manager something to do (ioWorkG). */
  get ioPending(): boolean {
    return this.reissue.length > 0 || this.ioWork.length > 0;
  }

  /** @internal what completions left for the I/O manager to do: IRP_MJ_CLOSE of released files, a deferred unload. */
  *ioWorkG(): Generator<void, void, void> {
    for (let n = 0; this.reissue.length > 0 && !this.crashed && n < MAX_REISSUES; n++) {
      // CHOICE: the listening client's next request is sent by its thread, on the CPU that completed the last one
      const file = this.reissue.shift() as KFileObject;
      if (file.state === 'open' && file.listen !== undefined) yield* this.deviceRequestG(file, 'IRP_MJ_DEVICE_CONTROL', file.listen.ioctl, 0, file.listen.outputLength, 0);
    }
    while (this.ioWork.length > 0 && !this.crashed) {
      const file = this.ioWork.shift() as KFileObject;
      if (file.state !== 'cleaned-up' || file.pending > 0) continue;
      file.state = 'closing';
      const device = this.namespace.devices.find((d) => d.va === file.device);
      if (this.driverObject !== null && this.imageState === 'loaded') {
        yield* this.requestG(IRP_MJ_CLOSE, 'IRP_MJ_CLOSE', { thread: this.systemThread(), file });
      }
      file.state = 'closed';
      this.mem.free(file.va);
      if (device !== undefined) device.opens = Math.max(0, (device.opens ?? 0) - 1);
      // the last reference to the file goes before the I/O manager may unload the driver (IopDeleteFile → IopUnloadDevice)
      if (this.driverObject !== null) this.syncRelease(this.driverObject.address);
    }
    if (this.unloadDeferred && !this.crashed && this.imageState === 'loaded' && !this.driverDevicesOpen()) {
      this.unloadDeferred = false;
      yield* this.lifecycleOp(this.runDriverUnload());
    }
  }

  /**
   * The process's handle table is closed as its last thread exits (ObKillProcess): IRP_MJ_CLEANUP for each file it
   * still had open, and IRP_MJ_CLOSE once no IRP holds the file. CHOICE: after the process-exit notification.
   */
  private *closeProcessHandles(p: KProcess, t: KThread): Generator<void, void, void> {
    for (const f of [...this.files]) {
      if (f.process !== p || f.state !== 'open' || this.crashed) continue;
      yield* this.closeHandleG(f, t);
    }
  }

  private driverDevicesOpen(): boolean {
    return this.files.some((f) => f.state !== 'closed');
  }

  /**
   * IoCancelThreadIo: a thread exits, and the I/O manager cancels each IRP it issued that is still pending
   * ([WRK] io/iomgr/iosubs.c IoCancelThreadIo, from PspExitThread). CHOICE: after the thread's exit notification.
   */
  private *cancelThreadIo(t: KThread): Generator<void, void, void> {
    const cancelled: [number, OpenIrp][] = [];
    for (const [irp, st] of [...this.openIrps]) {
      if (st.thread !== t || !this.openIrps.has(irp)) continue;
      if (this.crashed) return;
      cancelled.push([irp, st]);
      yield* this.cancelIrpG(irp, st);
    }
    // the exiting thread waits for its cancelled IRPs to be completed (Windows gives up after 5 minutes): on several
    // CPUs another may still complete them; a wait nothing can end is a hang, reported with its wait chain
    for (const [irp, st] of cancelled) {
      if (!this.openIrps.has(irp) || this.crashed) continue;
      const s = this.sched;
      if (s !== null && s.running !== null) {
        s.running.routine = 'IoCancelThreadIo';
        s.block({ what: `the ${st.phase.irp?.major ?? 'IRP'} it issued (op ${st.phase.op}), cancelled and not completed by its driver`, ready: () => !this.openIrps.has(irp), sync: irp });
        yield;
        this.syncAcquire(irp);
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
    const L = this.irpLayout;
    const lock = this.cancelSpinLock;
    const s = this.sched;
    while (this.mem.ptr(lock) !== 0) {
      if (s === null || s.running === null) break; // one CPU: nobody else can hold it
      s.block({ what: `the cancel spin lock ${this.hex(lock)}`, ready: () => this.mem.ptr(lock) === 0, lock });
      yield;
    }
    this.mem.setPtr(lock, 1);
    this.lockAcquired(lock);
    this.mem.setU8(irp + L.Cancel, 1);
    const pointer = this.mem.ptr(irp + L.CancelRoutine);
    this.mem.setPtr(irp + L.CancelRoutine, 0);
    if (st.phase.irp !== undefined) st.phase.irp.cancelledAtOp = this.opIndex;
    if (pointer === 0) {
      this.mem.setPtr(lock, 0);
      this.lockReleased(lock);
      return;
    }
    const routine = this.cancelRoutines.get(pointer) ?? this.instance?.routineAt?.(pointer) ?? null;
    const phase = this.beginPhase('Cancel');
    phase.note = `cancel routine of the ${st.phase.irp?.major ?? 'IRP'} sent at op ${st.phase.op}`;
    if (this.imageState !== 'loaded' || routine === null) {
      this.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [this.mem.canonical(pointer), 0, 0, 0],
        `the cancel routine of a pending ${st.phase.irp?.major ?? 'IRP'} is in the driver's image, which is no longer loaded`), 'Cancel', phase.seq);
    }
    this.mem.setU8(irp + L.CancelIrql, PASSIVE_LEVEL);
    let entered = false;
    const dev = this.mem.ptr(irp + L.size + this.stackLayout.DeviceObject);
    yield* this.runDriverCode(phase, null, () => {
      if (!entered) {
        entered = true;
        this.verifier.acquired(lock, 'spin lock', DISPATCH_LEVEL);
      }
      (routine as PDRIVER_CANCEL)(dev, irp);
    }, false);
    phase.status = statusName(STATUS_SUCCESS);
    this.frame = null;
  }

  /** NtUnloadDriver: refused with STATUS_INVALID_DEVICE_REQUEST when DriverUnload is NULL ([WRK] io/iomgr/loadunld.c). */
  unloadDriver(): NTSTATUS {
    return drive(this.unloadDriverG());
  }

  /** @internal */
  *unloadDriverG(): Generator<void, NTSTATUS, void> {
    return yield* this.lifecycleOp(this.unloadDriverSteps());
  }

  private *unloadDriverSteps(): Generator<void, NTSTATUS, void> {
    this.assertRunning();
    if (this.imageState !== 'loaded' || this.driverObject === null) return STATUS_INVALID_DEVICE_REQUEST;
    const phase = this.beginPhase('Unload');
    const unload = this.driverObject.DriverUnload;
    if (unload === null) {
      phase.status = statusName(STATUS_INVALID_DEVICE_REQUEST);
      phase.outcome = 'refused';
      phase.note = 'DriverUnload is NULL: the driver can never be stopped';
      this.frame = null;
      return STATUS_INVALID_DEVICE_REQUEST;
    }
    phase.status = statusName(STATUS_SUCCESS);
    this.frame = null;
    if (this.driverDevicesOpen()) {
      // a client still has a file open on its device: the I/O manager marks the unload pending and calls DriverUnload
      // when the last file object goes ([WRK] io/iomgr/loadunld.c IopUnloadDriver: a referenced device is not safe to
      // unload; ReactOS io/iomgr/device.c IopDereferenceDeviceObject → IopUnloadDevice)
      phase.note = 'deferred: a client has the device open; DriverUnload runs when its last file object is closed';
      this.unloadDeferred = true;
      return STATUS_SUCCESS;
    }
    yield* this.runDriverUnload();
    return STATUS_SUCCESS;
  }

  private *runDriverUnload(): Generator<void, void, void> {
    this.unloading = true;
    if (this.driverObject !== null) this.syncAcquire(this.driverObject.address);
    const up = this.beginPhase('DriverUnload');
    const driverObject = this.driverObject as NonNullable<Kernel['driverObject']>;
    const unload = driverObject.DriverUnload as PDRIVER_UNLOAD;
    yield* this.inContext(this.systemThread(), () => this.runDriverCode(up, null, () => unload(driverObject)));
    this.frame = null;
    up.residue = this.residue();
    this.unloadedWhileRunning();
    this.releaseImage();
    this.unloading = false;
  }

  /** An unload the I/O manager has started: deferred until the last file closes, or DriverUnload running now. */
  get unloadPending(): boolean {
    return this.unloadDeferred || this.unloading;
  }

  /** The driver's routines, devices and links that are still in the kernel. */
  private residue(): Residue {
    const mine = this.driverImage.name;
    const registrations: string[] = [];
    for (const table of [this.processTable, this.threadTable, this.imageTable] as NotifyTable<unknown>[]) {
      table.slots.forEach((s, slot) => {
        if (s !== null && s.owner === mine) registrations.push(`${table.kind} notify ${s.name} (slot ${slot})`);
      });
    }
    for (const r of this.obRegistrations) if (r.owner === mine) registrations.push(`object callbacks at altitude ${r.altitude}`);
    return {
      registrations,
      devices: this.namespace.devices.filter((d) => d.owner === mine).map((d) => d.name ?? '(unnamed)'),
      links: [...this.namespace.links.values()].filter((l) => l.owner === mine).map((l) => l.name),
      pool: this.mem.liveBlocks().filter((b) => b.owner === mine).map((b) => `${b.tag}:${b.size}`),
    };
  }

  private releaseImage(): void {
    const hasDevices = this.namespace.devices.some((d) => d.owner === this.driverImage.name);
    this.imageState = hasDevices && this.profile.leakedDeviceImage === 'pinned-by-devices' ? 'pinned' : 'unloaded';
  }

  // ------------------------------------------------------------------ notification delivery

  private withContext(t: KThread, fn: () => void): void {
    const saved = this.current;
    this.current = t;
    try {
      fn();
    } finally {
      this.current = saved;
    }
  }

  /** Runs `body` in thread `t`'s context (the current thread is part of each thread of execution's saved state). */
  private *inContext<T>(t: KThread, body: () => Iterator<void, T, void> & Iterable<void>): Generator<void, T, void> {
    const saved = this.current;
    this.current = t;
    try {
      return yield* body();
    } finally {
      this.current = saved;
    }
  }

  /** Adversarial profile: the PID is gone from, or reused in, the CID table while the exit notifies run. */
  private *withRace<T>(p: KProcess, race: 'gone' | 'reused', body: () => Generator<void, T, void>): Generator<void, T, void> {
    const saved = this.cids.lookup(p.pid);
    let interloper: KProcess | null = null;
    if (race === 'gone') this.cids.destroyEntryOnly(p.pid);
    else {
      interloper = this.newProcess({ borrowed: p.pid }, this.system.pid, 'interloper.exe', null);
      this.cids.replace(p.pid, { kind: 'process', p: interloper });
    }
    try {
      return yield* body();
    } finally {
      if (saved !== undefined) this.cids.replace(p.pid, saved);
      if (interloper !== null) {
        interloper.state = 'exited';
        interloper.pointerCount--;
        if (interloper.pointerCount === 0) {
          interloper.state = 'deleted';
          this.objectsByVa.delete(interloper.eprocess);
          this.mem.free(interloper.eprocess);
        }
      }
    }
  }

  private previousOwners(pid: number): readonly string[] | undefined {
    const o = this.pidOwners.get(pid);
    return o === undefined || o.length === 0 ? undefined : o;
  }

  /** Records a notification the kernel raises, delivered or not (the completeness invariant's ground truth). */
  private raised(kind: NotificationKind, pid: number, tid?: number): KernelEventRecord {
    const loaded = this.imageState === 'loaded' && this.lifecycle === 0;
    // built field by field in the record's key order (spreads of conditional literals allocated twice per event)
    const e: { -readonly [K in keyof KernelEventRecord]: KernelEventRecord[K] } = tid !== undefined
      ? { op: this.opIndex, kind, pid, tid, whileLoaded: loaded }
      : { op: this.opIndex, kind, pid, whileLoaded: loaded };
    if (loaded) e.load = this.entrySeq;
    this.record.events?.push(e);
    return e;
  }

  /** Driver loads and unloads in flight (several CPUs), and how often one started or ended. */
  private lifecycle = 0;
  private lifecycleChanges = 0;

  private *lifecycleOp<T>(body: Generator<void, T, void>): Generator<void, T, void> {
    if (this.sched === null) return yield* body;
    this.lifecycle++;
    this.lifecycleChanges++;
    try {
      return yield* body;
    } finally {
      this.lifecycle--;
      this.lifecycleChanges++;
    }
  }

  /**
   * The process notify routines for one process creation or exit. One CPU: called now (null comes back); several:
   * the generator that calls them (so are notifyThread and notifyImage).
   */
  private notifyProcess(p: KProcess, create: boolean, race?: 'gone' | 'reused', creatorOf?: KThread): Generator<void, void, void> | null {
    const event = this.raised(create ? 'process-create' : 'process-exit', p.pid);
    const truth: CallbackTruth = {
      pid: p.pid, ppid: p.ppid, name: p.name, eprocess: this.hex(p.eprocess),
      previousOwners: this.previousOwners(p.pid), race: race !== undefined && this.profile.exitLookupRaces ? race : undefined,
    };
    const args = { ParentId: p.ppid, ProcessId: p.pid, Create: create };
    let info = 0;
    const exArgs = (): Record<string, string | number | boolean | null> => {
      if (create && info === 0) info = this.allocCreateInfo(p, creatorOf);
      return { Process: this.hex(p.eprocess), ProcessId: p.pid, CreateInfo: info === 0 ? null : this.hex(info) };
    };
    const freeInfo = (): void => {
      if (info !== 0 && !this.crashed) this.freeCreateInfo(info);
    };
    return this.deliver({
      table: this.processTable, kind: 'process', create, event, truth, args,
      call: (r) => {
        if (this.exProcessRoutines.has(r)) (r as PCREATE_PROCESS_NOTIFY_ROUTINE_EX)(p.eprocess, p.pid, info);
        else (r as PCREATE_PROCESS_NOTIFY_ROUTINE)(p.ppid, p.pid, create);
      },
      argsFor: (r) => (this.exProcessRoutines.has(r) ? exArgs() : args),
      after: freeInfo,
    });
  }

  /** PS_CREATE_NOTIFY_INFO for the Ex callbacks: parent, creating thread, image name; freed after delivery. */
  private allocCreateInfo(p: KProcess, creator: KThread | undefined): number {
    const L = this.createInfo;
    const va = this.mem.alloc(L.size, 'PsCi', 'kernel', { type: 'PS_CREATE_NOTIFY_INFO' });
    this.mem.mark(va + L.CreationStatus, 4, Shadow.Owned); // the one field a routine may set ([DOC] PS_CREATE_NOTIFY_INFO)
    this.mem.setPtr(va + L.Size, L.size);
    this.mem.setU32(va + L.Flags, p.imagePath === null ? 0 : 1); // FileOpenNameAvailable
    this.mem.setPtr(va + L.ParentProcessId, p.ppid);
    this.mem.setPtr(va + L.CreatingThreadId, creator?.process.pid ?? this.system.pid);
    this.mem.setPtr(va + L.CreatingThreadId + this.build.pointerSize, creator?.tid ?? this.systemThread().tid);
    if (p.imagePath !== null) {
      this.mem.setPtr(va + L.ImageFileName, this.allocUnicodeString(p.imagePath, 'kernel'));
      this.mem.setPtr(va + L.CommandLine, this.allocUnicodeString(`"${p.imagePath}"`, 'kernel'));
    }
    return va;
  }

  private freeCreateInfo(va: number): void {
    const L = this.createInfo;
    for (const field of [L.ImageFileName, L.CommandLine]) {
      const us = this.mem.ptr(va + field);
      if (us === 0) continue;
      this.mem.free(this.mem.ptr(us + this.build.pointerSize));
      this.mem.free(us);
    }
    this.mem.free(va);
  }

  private notifyThread(t: KThread, create: boolean, race?: 'gone' | 'reused'): Generator<void, void, void> | null {
    const event = this.raised(create ? 'thread-create' : 'thread-exit', t.process.pid, t.tid);
    const p = t.process;
    const truth: CallbackTruth = {
      pid: p.pid, tid: t.tid, name: p.name, eprocess: this.hex(p.eprocess),
      previousOwners: this.previousOwners(p.pid), race: race !== undefined && this.profile.exitLookupRaces ? race : undefined,
    };
    const args = { ProcessId: p.pid, ThreadId: t.tid, Create: create };
    return this.deliver({
      table: this.threadTable, kind: 'thread', create, event, truth, args,
      call: (r) => {
        if (create && this.newThreadContextRoutines.has(r)) this.withContext(t, () => r(p.pid, t.tid, create));
        else r(p.pid, t.tid, create);
      },
    });
  }

  private notifyImage(p: KProcess | null, path: string | null, base: number, size: number): Generator<void, void, void> | null {
    const event = this.raised('image-load', p === null ? 0 : p.pid);
    const pid = p === null ? 0 : p.pid;
    const table = this.imageTable;
    if (!table.slots.some((s) => s !== null && s.owner === this.driverImage.name)) {
      return null; // nothing of the driver under test to call; other drivers' routines are no-ops
    }
    // FullImageName (not NUL-terminated: MaximumLength covers stale characters after Length) and IMAGE_INFO,
    // freed when the notification is over.
    const us = path === null ? 0 : this.allocUnicodeString(path, 'kernel', true);
    const ii = this.mem.alloc(this.build.pointerSize === 4 ? 20 : 40, 'ImgI', 'kernel', { type: 'IMAGE_INFO' });
    const props = (p === null ? 1 : 0) << 8; // ImageAddressingMode 0 (IMAGE_ADDRESSING_MODE_32BIT), SystemModeImage bit 8
    this.mem.setU32(ii + this.imageInfo.Properties, props);
    this.mem.setPtr(ii + this.imageInfo.ImageBase, base);
    this.mem.setPtr(ii + this.imageInfo.ImageSize, size);
    const truth: CallbackTruth = {
      pid, name: p?.name, imagePath: path, imageBase: this.hex(base), imageSize: size, systemImage: p === null,
    };
    const args = { FullImageName: us === 0 ? null : this.hex(us), ProcessId: pid, ImageInfo: this.hex(ii) };
    const freeInfo = (): void => {
      if (this.crashed) return;
      if (us !== 0) {
        this.mem.free(this.mem.ptr(us + (this.build.pointerSize === 8 ? 8 : 4)));
        this.mem.free(us);
      }
      this.mem.free(ii);
    };
    return this.deliver({ table, kind: 'image', create: true, event, truth, args, call: (r) => r(us, pid, ii), after: freeInfo });
  }

  /**
   * Calls the driver under test's routines in the notification's table. On one CPU nothing can switch, so they are
   * called now, without a generator (null comes back); on several, the generator that calls them is returned.
   */
  private deliver<F>(n: Notification<F>): Generator<void, void, void> | null {
    if (this.sched !== null) return this.deliverConcurrently(n);
    const mine = this.driverImage.name;
    const slots = n.table.slots;
    try {
      for (let slot = 0; slot < slots.length; slot++) {
        const s = slots[slot];
        if (s === null || s.owner !== mine) continue; // other drivers' routines do nothing observable
        const cb = this.callbackRecord(n, s, slot);
        this.frame = { ddi: cb.ddi, prints: cb.prints, cb };
        try {
          this.runCallbackNow(cb, s.routine, n.call);
        } finally {
          this.frame = null;
        }
      }
    } finally {
      n.after?.();
    }
    return null;
  }

  private *deliverConcurrently<F>(n: Notification<F>): Generator<void, void, void> {
    const mine = this.driverImage.name;
    const slots = n.table.slots;
    const sched = this.sched as Scheduler;
    try {
      const delivery = this.lifecycleChanges;
      for (let slot = 0; slot < slots.length; slot++) {
        if (slots[slot] === null || slots[slot]?.owner !== mine) continue; // other drivers' routines do nothing observable
        // a scheduling point before the kernel takes the routine (the slot may be emptied meanwhile)
        if (sched.point((slots[slot] as NotifySlot<F>).starts)) yield;
        const s = slots[slot];
        if (s === null || s.owner !== mine) continue;
        const cb = this.callbackRecord(n, s, slot);
        this.frame = { ddi: cb.ddi, prints: cb.prints, cb };
        const epoch = this.lifecycleChanges;
        // the notify routine's callback block is referenced while it runs: its removal waits for this call to end
        // ([WRK] ps/psnotify.c: ExReferenceCallBackBlock / ExWaitForCallBacks → the block's rundown protection)
        this.inflight.set(s.routine, (this.inflight.get(s.routine) ?? 0) + 1);
        cb.cpu = sched.running?.cpu;
        this.syncAcquire(this.addressOf(s.routine));
        try {
          // only a driver with fibers can be switched out inside its routine; any other runs it to the end now
          if (this.fibers) yield* this.runDriverCode(null, cb, () => n.call(s.routine));
          else this.runCallbackNow(cb, s.routine, n.call, sched.running);
        } finally {
          this.frame = null;
          this.inflight.set(s.routine, (this.inflight.get(s.routine) ?? 1) - 1);
          this.syncRelease(this.addressOf(s.routine));
          if (this.lifecycleChanges !== epoch || this.lifecycle > 0) cb.lifecycle = true;
        }
      }
      // an event the driver's load or unload overlapped while it was delivered is no one's to miss
      if (n.event.whileLoaded && (this.lifecycleChanges !== delivery || this.lifecycle > 0)) {
        n.event.whileLoaded = false;
        delete n.event.load;
      }
    } finally {
      n.after?.();
    }
  }

  /** The record of one call of a notify routine; after the driver's unload, the fault of calling it. */
  private callbackRecord<F>(n: Notification<F>, s: NotifySlot<F>, slot: number): CallbackRecord {
    const cb: CallbackRecord = {
      seq: ++this.seq, op: this.opIndex, kind: n.kind, create: n.create, routine: s.name, slot,
      args: n.argsFor === undefined ? n.args : n.argsFor(s.routine),
      context: { pid: this.current.process.pid, tid: this.current.tid }, truth: n.truth,
      ddi: [], prints: [], refsTaken: 0, refsDropped: 0, outcome: 'returned',
    };
    this.record.callbacks.push(cb);
    if (this.imageState === 'unloaded' || this.imageState === 'failed-load') {
      // The routine's code is gone: the CPU faults in freed driver space ([DOC] bug-check-0xce).
      const addr = this.routineAddress.get(s.routine) ?? 0;
      cb.outcome = 'bugcheck';
      this.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
        [this.mem.canonical(addr), 0, this.mem.canonical(addr), 0],
        `${n.kind} notify routine ${s.name} (slot ${slot}) called after ${this.driverImage.name}.sys was unloaded`), 'callback', cb.seq);
    }
    return cb;
  }

  /**
   * A notify routine that cannot be switched out (one CPU, or a driver without fibers on its thread of execution
   * `task`): runDriverCode without its scheduling points, which never yields for it.
   */
  private runCallbackNow<F>(cb: CallbackRecord, routine: F, call: (routine: F) => void, task: Task | null = null): void {
    const savedFrame = this.frame;
    try {
      const entered = this.verifier.enter(cb.routine);
      if (task !== null) {
        task.inDriver++;
        task.routine = cb.routine;
      }
      call(routine);
      if (task !== null) task.inDriver--;
      this.verifier.leave(entered);
    } catch (e) {
      this.driverCodeFailed(e, task, null, cb, cb.routine);
    } finally {
      this.frame = savedFrame;
    }
  }

  /** Runs driver code; a bug check or a JavaScript exception out of the driver ends the run. */
  private *runDriverCode(phase: PhaseRecord | null, cb: CallbackRecord | null, fn: () => void, point = true): Generator<void, void, void> {
    const task = this.sched?.running ?? null;
    const name = cb?.routine ?? phase?.phase ?? 'driver';
    // several CPUs: a scheduling point before the routine (a callback's is in deliver, before its slot is taken)
    if (point && task !== null && cb === null && this.sched?.point(`${name} starts`) === true) yield;
    const savedFrame = this.frame;
    if (phase !== null) this.frame = { ddi: phase.ddi, prints: phase.prints, cb: null, phase };
    if (phase !== null && task !== null) phase.cpu = task.cpu;
    try {
      const routine = this.verifier.enter(name);
      if (task !== null) {
        task.inDriver++;
        task.routine = name;
      }
      fn();
      // a C routine that unwound at a scheduling point (or to wait) resumes where it was when it is called again
      while (task !== null && task.suspended) {
        task.suspended = false;
        yield;
        fn();
      }
      if (task !== null) task.inDriver--;
      this.verifier.leave(routine);
    } catch (e) {
      this.driverCodeFailed(e, task, phase, cb, name);
    } finally {
      this.frame = savedFrame;
    }
  }

  /** What ends driver code that threw: a bug check, a verifier stop, a deadlock, or the run's end. */
  private driverCodeFailed(e: unknown, task: Task | null, phase: PhaseRecord | null, cb: CallbackRecord | null, name: string): never {
    if (task !== null) task.inDriver = Math.max(0, task.inDriver - 1);
    if (e instanceof KernelHalted) throw e;
    if (e instanceof WouldBlock) {
      // a wait the routine cannot be switched out of (a TypeScript driver, a nested call): nothing else can run
      // until it returns, so the wait never ends
      this.stop(new VerifierStop(CHECKS.deadlock, `${name} waits for ${e.wait.what}${this.holderText(e.wait)}, in code that cannot be switched out: a deadlock`), cb !== null ? 'callback' : (phase?.phase ?? 'kernel'), cb?.seq ?? phase?.seq ?? null);
    }
    if (e instanceof PoolExhausted) {
      this.exhausted(e);
      throw new KernelHalted();
    }
    const where = cb !== null ? 'callback' : (phase?.phase ?? 'kernel');
    const seq = cb?.seq ?? phase?.seq ?? null;
    if (e instanceof VerifierStop) {
      if (cb !== null) cb.outcome = 'bugcheck';
      if (phase !== null) phase.outcome = 'bugcheck';
      this.stop(e, where, seq);
    }
    if (e instanceof BugCheck) {
      if (cb !== null) cb.outcome = 'bugcheck';
      if (phase !== null) phase.outcome = 'bugcheck';
      this.crash(e, where, seq);
    }
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (cb !== null) cb.outcome = 'exception';
    if (phase !== null) phase.outcome = 'exception';
    this.crash(new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0],
      `unhandled exception in driver code: ${message}`), where, seq, message);
  }

  // ------------------------------------------------------------------ several CPUs (docs/concurrency.md)

  /** @internal the scheduler and race detector of a run on several CPUs (null: one CPU) */
  sched: Scheduler | null = null;
  /** @internal */
  races: RaceDetector | null = null;
  /** @internal calls of each notify routine now running: its removal waits for them */
  readonly inflight = new Map<unknown, number>();
  private opRecord: OpRecord | null = null;
  private readonly fiberBuffers: { readonly buffer: number; readonly size: number }[] = [];

  /**
   * Several CPUs from here on (after boot, before the first operation): the driver's image data and pool become
   * shared memory whose every access the race detector sees.
   */
  beginConcurrency(schedule: Schedule): Scheduler {
    const sched = new Scheduler(schedule);
    const races = new RaceDetector((va) => this.hex(va), (va) => this.describeDriverMemory(va));
    this.sched = sched;
    this.races = races;
    this.mem.ownedKind = Shadow.Shared;
    const space = this.wasmSpace;
    if (space?.dataStart !== undefined) {
      this.mem.share(space.dataStart, space.reservedLow - space.dataStart);
      // each CPU runs the driver on a slice of its stack: a guard below each, so an overflow into the next CPU's
      // frames is the stack overflow it would be on Windows (a 12-24 KB kernel stack), not silent corruption
      if (space.stackGuard !== undefined && this.fibers) {
        for (let cpu = 0; cpu < MAX_CPUS - 1; cpu++) {
          this.mem.mark(cpuStackSlice(space.dataStart, space.stackGuard[1], cpu).bottom, SLICE_GUARD_BYTES, Shadow.StackGuard);
        }
      }
    }
    for (const b of this.mem.liveBlocks()) if (b.owner === this.driverImage.name) this.mem.share(b.va, b.size);
    this.verifier.onShared = (va, len, write) => this.sharedAccess(va, len, write);
    // the kernel's own blocks are never shared (only the driver's pool and image data are), so hold no history
    this.mem.onFree = (va, size, owner) => {
      if (owner !== 'kernel') races.forget(va, size);
    };
    sched.onWake = (t, w) => {
      if (w.sync !== undefined) races.acquire(t.op + 1, w.sync);
    };
    this.record.concurrency = { schedule, timeline: sched.timeline, races: races.races, lockOrder: races.inversions };
    return sched;
  }

  /** What lies at `va`, for a race report: the image's data (by offset), or what the verifier knows. */
  private describeDriverMemory(va: number): string {
    const space = this.wasmSpace;
    if (space?.dataStart !== undefined && va >= space.dataStart && va < space.reservedLow) {
      return `${this.driverImage.name}.sys data +0x${(va - space.dataStart).toString(16).toUpperCase()}`;
    }
    return this.verifier.describe(va);
  }

  /** @internal the driver image has fibers and the run several CPUs */
  get fibers(): boolean {
    return this.sched !== null && this.driverImage.instantiateFibers !== undefined;
  }

  /** @internal set while the driver's own code accesses memory (not a DDI's on its behalf) */
  driverAccess = false;

  private sharedAccess(va: number, len: number, write: boolean): void {
    if (!this.driverAccess) return;
    const t = this.sched?.running;
    const races = this.races;
    if (t === undefined || t === null || races === null) return;
    const thread = t.op + 1;
    const locks = races.held.get(thread) ?? NO_LOCKS; // an immutable array: kept as is, named when reported
    races.access(thread, va, {
      op: t.op, cpu: t.cpu, routine: t.routine, access: write ? 'write' : 'read', size: len, locks, step: this.sched?.step ?? 0,
      ...(t.atomic > 0 ? { atomic: true as const } : {}),
    });
  }

  /** @internal a thread of execution starts: a new thread's verifier state, ordered after every ended operation */
  threadBegins(t: Task): void {
    this.races?.begin(t.op + 1);
    t.saved = { current: this.systemThread(), frame: null, opIndex: t.op, opRecord: null, verifier: null } satisfies ThreadState;
  }

  /** @internal */
  threadEnds(t: Task): void {
    this.races?.end(t.op + 1);
  }

  /** @internal the per-thread state of the thread now running, to switch it out */
  saveThread(): ThreadState {
    return { current: this.current, frame: this.frame, opIndex: this.opIndex, opRecord: this.opRecord, verifier: this.verifier.saveThread() };
  }

  /** @internal */
  restoreThread(s: ThreadState): void {
    this.current = s.current;
    this.frame = s.frame;
    this.opIndex = s.opIndex;
    this.opRecord = s.opRecord;
    this.verifier.restoreThread(s.verifier);
  }

  /**
   * @internal a DDI that must wait: on several CPUs the running thread is switched out until `wait.ready()` (the
   * call is then made again, or returns `result`); on one CPU this returns and the caller keeps its old rule
   */
  block(wait: Wait, result?: { readonly value: unknown }): void {
    const s = this.sched;
    if (s === null || s.running === null) return;
    s.block(wait);
    throw new WouldBlock(wait, result);
  }

  /** @internal a lock taken or released by the running thread (happens-before and lock order) */
  lockAcquired(lock: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.lockAcquired(t.op + 1, lock, t.routine, t.op);
  }

  /** @internal */
  lockReleased(lock: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.lockReleased(t.op + 1, lock);
  }

  /** @internal an event set, a rundown released: what the thread did happens before its waiter goes on */
  syncRelease(object: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.release(t.op + 1, object);
  }

  /** @internal */
  syncAcquire(object: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.acquire(t.op + 1, object);
  }

  /** @internal an Interlocked operation begins: atomic, and ordered with every other one on its address */
  atomicBegin(va: number): void {
    const t = this.sched?.running;
    if (t === undefined || t === null) return;
    t.atomic++;
    this.races?.atomic(t.op + 1, va);
  }

  /** @internal */
  atomicEnd(): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null && t.atomic > 0) t.atomic--;
  }

  /** @internal the lock owner for ERESOURCEs and push locks: a thread of execution (several CPUs) or a thread */
  lockOwner(): number {
    const t = this.sched?.running;
    return t !== undefined && t !== null ? 0x4000_0000 + t.op : this.current.serial;
  }

  /** @internal where a C driver built with fibers saves CPU `cpu`'s suspended frames (kernel memory, made on first use) */
  fiberBuffer(cpu: number): { readonly buffer: number; readonly size: number } {
    let s = this.fiberBuffers[cpu];
    if (s === undefined) {
      s = { buffer: this.mem.alloc(FIBER_BUFFER_BYTES, 'Fibr', 'kernel', { type: `CPU ${cpu} suspended frames` }), size: FIBER_BUFFER_BYTES };
      this.fiberBuffers[cpu] = s;
    }
    return s;
  }

  private holderText(w: Wait): string {
    if (w.lock === undefined || this.races === null || this.sched === null) return '';
    for (const [thread, locks] of this.races.held) {
      if (!locks.includes(w.lock)) continue;
      const t = this.sched.tasks.find((x) => x.op + 1 === thread);
      return t === undefined ? `, held by operation ${thread - 1}, which ended holding it` : `, held by operation ${t.op} (${t.routine || 'kernel'}) on CPU ${t.cpu}`;
    }
    return '';
  }

  /** @internal no thread of execution can run and some wait: the wait chain, as a verifier stop */
  deadlock(): never {
    const s = this.sched as Scheduler;
    const chain = s.tasks.map((t) => `operation ${t.op} (${t.routine || 'kernel'}) on CPU ${t.cpu} waits for ${t.blocked?.what ?? '?'}${t.blocked === null ? '' : this.holderText(t.blocked)}`);
    const first = s.tasks[0];
    if (first !== undefined) this.restoreThread(first.saved as ThreadState);
    return this.stop(new VerifierStop(CHECKS.deadlock, `deadlock: ${chain.join('; ')}`), first?.routine || 'kernel', null);
  }

  /** After DriverUnload returned: a routine of the image still running on another CPU runs in freed code. */
  private unloadedWhileRunning(): void {
    const s = this.sched;
    if (s === null) return;
    const me = s.running;
    const other = s.tasks.find((t) => t !== me && t.inDriver > 0);
    if (other === undefined) return;
    this.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0],
      `DriverUnload returned while ${other.routine} (operation ${other.op}) was still running on CPU ${other.cpu}: the image was unloaded under it`), 'DriverUnload', null);
  }

  private crash(b: BugCheck, during: string, seq: number | null, exception?: string): never {
    if (!this.crashed) {
      this.crashed = true;
      const fn = b.function ?? faultingFunction(b.stack);
      this.record.bugCheck = {
        code: b.code, name: bugCheckName(b.code), parameters: b.parameters, reason: b.reason, during, seq,
        op: this.opIndex, ...(exception !== undefined ? { exception } : {}),
        ...(b.check !== undefined ? { check: b.check } : {}), ...(fn !== undefined ? { function: fn } : {}),
      };
      const r = this.opRecord ?? this.record.ops[this.record.ops.length - 1];
      if (r !== undefined) r.outcome = 'halted';
    }
    throw new KernelHalted();
  }

  /** @internal the machine ran out of memory for kernel objects: the run ends, as an outcome, not a finding */
  exhausted(e: PoolExhausted): void {
    if (this.crashed) return;
    this.crashed = true;
    this.record.poolExhausted = e.message;
    const r = this.opRecord ?? this.record.ops[this.record.ops.length - 1];
    if (r !== undefined) r.outcome = 'halted';
  }

  /** The verifier stopped the run (no bug check on Windows at this instant, but the driver broke a rule). */
  private stop(v: VerifierStop, during: string, seq: number | null): never {
    if (!this.crashed) {
      this.crashed = true;
      const fn = v.function ?? faultingFunction(v.stack);
      this.record.verifierStop = {
        check: v.check, reason: v.reason, ...(v.address !== undefined ? { address: v.address } : {}),
        ...(fn !== undefined ? { function: fn } : {}), during, seq, op: this.opIndex,
      };
      const r = this.opRecord ?? this.record.ops[this.record.ops.length - 1];
      if (r !== undefined) r.outcome = 'halted';
    }
    throw new KernelHalted();
  }

  private assertRunning(): void {
    if (this.crashed) throw new KernelHalted();
  }

  private beginPhase(phase: PhaseRecord['phase']): PhaseRecord {
    const r: PhaseRecord = { seq: ++this.seq, op: this.opIndex, phase, ddi: [], prints: [], outcome: 'returned' };
    this.record.phases.push(r);
    this.frame = { ddi: r.ddi, prints: r.prints, cb: null, phase: r };
    return r;
  }

  // ------------------------------------------------------------------ helpers

  hex(va: number): string {
    return this.mem.hex(va);
  }

  /** A UNICODE_STRING and its buffer in pool. `unterminated`: MaximumLength covers 4 stale characters, no NUL. */
  allocUnicodeString(text: string, owner: string, unterminated = false): number {
    const ps = this.build.pointerSize;
    const length = text.length * 2;
    const max = unterminated ? length + 8 : length + 2;
    const buf = this.mem.alloc(max + 2, 'Str ', owner, { type: 'string buffer', zeroed: true });
    this.mem.setWide(buf, text);
    if (unterminated) for (let i = 0; i < 4; i++) this.mem.setU16(buf + length + 2 * i, 0x7e); // stale '~' characters
    const us = this.mem.alloc(ps === 4 ? 8 : 16, 'Str ', owner, { type: 'UNICODE_STRING', zeroed: true });
    this.mem.setU16(us, length);
    this.mem.setU16(us + 2, max);
    this.mem.setPtr(us + (ps === 4 ? 4 : 8), buf);
    return us;
  }

  /** @internal the fault plan's answer for the next call of `name`, if it is to fail */
  fault(name: string): NTSTATUS | undefined {
    const key = FAULT_ALIASES[name] ?? name;
    const n = (this.ddiCalls.get(key) ?? 0) + 1;
    this.ddiCalls.set(key, n);
    for (const f of this.faults) if (f.ddi === key && f.nth === n) return f.status >>> 0;
    return undefined;
  }

  /** @internal records a DDI call of the driver */
  log(name: string, args: string[], status?: NTSTATUS, result?: string, faulted?: boolean): void {
    const f = this.frame;
    if (f === null) return;
    const r: { -readonly [K in keyof DdiCallRecord]: DdiCallRecord[K] } = { name, args };
    if (status !== undefined) r.status = statusName(status);
    if (result !== undefined) r.result = result;
    if (faulted === true) r.faulted = true;
    f.ddi.push(r);
  }

  /** @internal */
  routineName(routine: unknown): string {
    return typeof routine === 'function' && routine.name !== '' ? routine.name : 'anonymous';
  }

  /** @internal a routine's address inside the driver image */
  addressOf(routine: unknown): number {
    let a = this.routineAddress.get(routine);
    if (a === undefined) {
      a = this.imageBase + 0x1000 + 0x40 * this.routineAddress.size;
      this.routineAddress.set(routine, a);
    }
    return a;
  }

  /** @internal */
  requireExport(name: string): void {
    if (!isExported(this.build, name)) {
      throw new Error(`${name} is not exported by ${this.build.id}; import it only where it exists (MmGetSystemRoutineAddress)`);
    }
  }

  /** @internal the process or thread object at `va`, or a bug check */
  objectAt(va: number, write: boolean): CidObject {
    const o = this.objectsByVa.get(va);
    if (o !== undefined) return o;
    this.mem.check(va, 1, write);
    throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, this.mem.canonical(va), 0, 0], `${this.hex(va)} is not a live object`);
  }

  // ------------------------------------------------------------------ the DDI surface

  // ------------------------------------------------------------------ end state

  /**
   * The record is taken: the kernel's memory goes back for the next boot (KernelMemory.recycle). The kernel must
   * not be used afterwards. Code that is not instrumented (a WebAssembly driver with the verifier off) may have
   * stored anywhere in it.
   */
  release(): void {
    this.mem.recycle(this.wasmSpace !== undefined && !this.verifier.enabled);
    for (const i of this.instances) i.release?.();
    this.instances.length = 0;
    for (const s of this.surfaces) releaseDdiSurface(s);
    this.surfaces.length = 0;
  }

  /** The DDI surface of each load in this run. */
  private readonly surfaces: DdiSurface[] = [];

  /** Every instance of the driver this run made (one per load). */
  private readonly instances: DriverInstance[] = [];

  finish(): RunRecord {
    const mine = this.driverImage.name;
    if (this.sched !== null && this.sched.timelineDropped > 0 && this.record.concurrency !== undefined) this.record.concurrency.timelineDropped = this.sched.timelineDropped;
    const regs: EndState['registrations'] = [];
    for (const table of [this.processTable, this.threadTable, this.imageTable] as NotifyTable<unknown>[]) {
      table.slots.forEach((s, slot) => {
        if (s !== null && s.owner === mine) regs.push({ kind: table.kind, slot, owner: s.owner, routine: s.name });
      });
    }
    this.record.end = {
      driver: { name: mine, image: this.imageState, hasUnload: this.driverObject?.DriverUnload != null, loads: this.loads },
      registrations: regs,
      devices: this.namespace.devices.filter((d) => d.owner === mine).map((d) => ({ name: d.name, owner: d.owner })),
      links: [...this.namespace.links.values()].filter((l) => l.owner === mine).map((l) => ({ name: l.name, target: l.target, owner: l.owner })),
      processes: this.processes.map((p) => ({ pid: p.pid, name: p.name, state: p.state, pointerCount: p.pointerCount, driverRefs: p.driverRefs })),
      threads: this.threads.map((t) => ({ tid: t.tid, pid: t.process.pid, state: t.state, pointerCount: t.pointerCount, driverRefs: t.driverRefs })),
      driverPool: this.mem.liveBlocks().filter((b) => b.owner === mine).map((b) => ({ tag: b.tag, size: b.size })),
    };
    return this.record;
  }
}

/** The simulated machine boots at 2024-01-01 00:00 UTC (a FILETIME). */
export const BOOT_FILETIME = 133_485_408_000_000_000n;

function imageSize(name: string): number {
  return 0x1000 * (1 + (fnv1a(name) % 0x200));
}

function ntdllBase(build: OsBuild): number {
  return build.pointerSize === 4 ? 0x7c900000 : 0x7ffd_0000_0000;
}

function dllBase(build: OsBuild, n: number): number {
  return build.pointerSize === 4 ? 0x10000000 + 0x100000 * n : 0x7ff8_0000_0000 + 0x1000000 * n;
}
