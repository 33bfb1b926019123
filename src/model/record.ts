/**
 * The RunRecord: ground truth of one run, plain data (JSON-serialisable), read by the invariants.
 * Numbers that may be 64-bit addresses are hex strings of their canonical value.
 */
import type { NotifyKind } from './ps/notify-tables.js';
import type { LockOrderRecord, RaceRecord } from './ke/race-detector.js';
import type { Schedule } from './ke/schedule.js';
import type { SourceFrame } from './ke/bugcheck.js';
import type { TimelineEntry } from './ke/scheduler.js';

export const RUN_RECORD_FORMAT = 'psharness-run/1';

export interface DdiCallRecord {
  readonly name: string;
  readonly args: readonly string[];
  /** NTSTATUS name for DDIs that return one. */
  readonly status?: string;
  /** Other results: a pointer, an object's new reference count. */
  readonly result?: string;
  /** True when the fault plan made this call fail. */
  readonly faulted?: true;
}

export interface PrintRecord {
  readonly text: string;
  /** Length before the 512-byte per-call limit; > text.length when output was lost. */
  readonly fullLength: number;
}

/** What really happened, for the invariants to compare the driver's log against. */
export interface CallbackTruth {
  readonly pid: number;
  readonly ppid?: number;
  readonly tid?: number;
  /** EPROCESS.ImageFileName as the kernel stored it for this build. */
  readonly name?: string;
  /** Canonical EPROCESS address (hex). */
  readonly eprocess?: string;
  /** Image notify: the full path, or null when FullImageName was NULL. */
  readonly imagePath?: string | null;
  readonly imageBase?: string;
  readonly imageSize?: number;
  readonly systemImage?: boolean;
  /** Names of earlier processes that held this PID (non-empty when the PID was reused). */
  readonly previousOwners?: readonly string[];
  /** Adversarial profile: the PID was gone, or reused by another process, when the driver ran. */
  readonly race?: 'gone' | 'reused';
}

export interface CallbackRecord {
  readonly seq: number;
  readonly op: number;
  readonly kind: NotifyKind;
  readonly create: boolean;
  readonly routine: string;
  readonly slot: number;
  /** The arguments as passed (handles as numbers, pointers as hex). */
  readonly args: Readonly<Record<string, string | number | boolean | null>>;
  readonly context: { readonly pid: number; readonly tid: number };
  readonly truth: CallbackTruth;
  readonly ddi: DdiCallRecord[];
  readonly prints: PrintRecord[];
  refsTaken: number;
  refsDropped: number;
  /** 'interrupted': several CPUs, the run stopped on another CPU while this routine was running. */
  outcome: 'returned' | 'bugcheck' | 'exception' | 'interrupted';
  /** Several CPUs: the CPU it ran on. */
  cpu?: number;
  /** Several CPUs: the driver's load or unload ran on another CPU while this routine did. */
  lifecycle?: true;
}

export interface PhaseRecord {
  readonly seq: number;
  readonly op: number;
  readonly phase: 'DriverEntry' | 'DriverUnload' | 'Load' | 'Unload' | 'Dispatch' | 'ObjectCallback' | 'RegistryCallback' | 'FltCallback' | 'FltPortCallback' | 'Cancel';
  status?: string;
  readonly ddi: DdiCallRecord[];
  readonly prints: PrintRecord[];
  outcome: 'returned' | 'bugcheck' | 'exception' | 'refused' | 'interrupted';
  note?: string;
  /** What the driver left behind right after a failed DriverEntry or after DriverUnload. */
  residue?: Residue;
  /** A successful DriverEntry: the devices (with their exclusivity) and links the driver had made when it returned. */
  interface?: { readonly devices: readonly { readonly name: string | null; readonly exclusive: boolean }[]; readonly links: readonly { readonly name: string; readonly target: string }[] };
  /** Dispatch phases: the IRP's major function, how often it was completed and with what, what the routine returned. */
  irp?: IrpRecord;
  /** ObjectCallback phases: the handle operation an object callback saw, and the access before and after it. */
  handle?: HandleCallbackRecord;
  /** RegistryCallback phases: the notification the routine got. */
  registry?: RegistryCallbackRecord;
  /** FltCallback phases: the minifilter routine the filter manager called, and for what. */
  flt?: FltCallbackRecord;
  /** FltPortCallback phases: the communication-port routine the filter manager called, and for which connection. */
  port?: FltPortCallbackRecord;
  /** Several CPUs: the CPU it ran on. */
  cpu?: number;
}

/** An IRP the kernel sent to the driver, and what became of it. */
export interface IrpRecord {
  readonly major: string;
  completions: number;
  completionStatus?: string;
  returned?: string;
  /** DeviceIoControl: the I/O control code (hex). */
  ioctl?: string;
  /** A client's request: the transfer method and the lengths the caller passed. */
  buffers?: { readonly method: string; readonly inputLength: number; readonly outputLength: number };
  /** The client's open file (its number among the file objects of the run), for requests made through a handle. */
  file?: number;
  /** Returned STATUS_PENDING: whether IoMarkIrpPending had been called on it. */
  markedPending?: boolean;
  /** Completed during a later operation than the one that sent it. */
  completedAtOp?: number;
  /** Cancelled by the I/O manager (its thread exited) during this operation. */
  cancelledAtOp?: number;
  /** Cancelled, and still not completed when its thread's exit had to go on (a hang on Windows). */
  uncompletedAfterCancel?: true;
  /** A client's request: the PID of the process whose handle it came through. */
  pid?: number;
  /** A client's request: the seq of the DriverEntry of the load it was sent to. */
  load?: number;
  /** A client's request: its place among completions of client requests in the run (1, 2, ...). */
  completionOrder?: number;
  /** A client's request: how many kernel events had been raised when it was sent, and when it was completed. */
  eventsAtSend?: number;
  eventsAtCompletion?: number;
  /** IoStatus.Information at completion, for a client's request. */
  information?: number;
  /** The bytes the caller got back (hex, at most 4 KB). */
  output?: string;
}

/** A run on several CPUs: the schedule, the interleaving it gave, and what the race detector found. */
export interface ConcurrencyRecord {
  readonly schedule: Schedule;
  readonly timeline: readonly TimelineEntry[];
  /** Timeline entries past the first MAX_TIMELINE, not kept. */
  timelineDropped?: number;
  readonly races: readonly RaceRecord[];
  readonly lockOrder: readonly LockOrderRecord[];
}

/** One pre- or post-operation object callback on a handle open or duplicate (ObRegisterCallbacks). */
export interface HandleCallbackRecord {
  readonly callback: 'pre' | 'post';
  readonly routine: string;
  readonly altitude: string;
  readonly operation: 'create' | 'duplicate';
  readonly objectType: 'process' | 'thread';
  /** The object's PID or TID, and the requesting process. */
  readonly target: number;
  readonly requester: number;
  readonly kernelHandle: boolean;
  /** Pre: DesiredAccess as the callback received it (hex). Post: the access granted. */
  readonly desiredAccess: string;
  /** Pre: DesiredAccess as the callback left it (hex). */
  desiredAccessAfter?: string;
}

/** One call of a RegistryCallback routine (CmRegisterCallbackEx). */
export interface RegistryCallbackRecord {
  /** The REG_NOTIFY_CLASS, by its wdm.h name. */
  readonly notifyClass: string;
  readonly routine: string;
  readonly altitude: string;
  readonly operation: string;
  /** The key as the caller named it. */
  readonly key: string;
  readonly requester: number;
}

/** A registry operation of a scenario, and what its caller got back. */
export interface RegistryOpRecord {
  readonly op: number;
  readonly pid: number;
  /** The calling process's image file name. */
  readonly process: string;
  readonly operation: string;
  /** The key as the caller named it. */
  readonly key: string;
  /** The key's own path once it was opened: where the operation landed (a callback's block: where it was stopped). */
  target?: string;
  /** The value's name, or a rename's new name. */
  readonly name?: string;
  /** What the caller got back. */
  status: string;
  /** What the registry itself returned for the step the operation reached ('' when a callback stopped it first). */
  native: string;
  /** The driver under test was loaded, with one registry callback registered (the same one), from the operation's start to its end. */
  registered: boolean;
  /** A registry callback decided the outcome: an error or STATUS_CALLBACK_BYPASS from a pre-notification, a bypass from a post. */
  blocked?: { readonly routine: string; readonly notifyClass: string; readonly returned: string };
}

/** One call of a minifilter's pre- or post-operation routine (or the safe post-operation FltDoCompletionProcessingWhenSafe queued). */
/** A minifilter's ConnectNotifyCallback or DisconnectNotifyCallback, as the filter manager called it. */
export interface FltPortCallbackRecord {
  readonly routine: string;
  readonly kind: 'connect' | 'disconnect';
  /** The filter's altitude. */
  readonly altitude: string;
  /** The server port's name, and the scenario's label of the connection. */
  readonly port: string;
  readonly connection: string;
  readonly irql: string;
}

/** A connection made or closed by the user-mode service, or a message FltSendMessage delivered to it. */
export interface PortMessageRecord {
  readonly op: number;
  /** The phase of the driver code that sent the message. */
  readonly seq?: number;
  readonly port: string;
  readonly connection: string;
  /** The service's process. */
  readonly pid: number;
  readonly event: 'connect' | 'disconnect' | 'message';
  /** A message: its length, and its first bytes in hex. */
  readonly length?: number;
  readonly bytes?: string;
  status: string;
}

export interface FltCallbackRecord {
  readonly routine: string;
  /** context-cleanup: a ContextCleanupCallback the filter manager's worker ran (a teardown freed the context). */
  readonly kind: 'pre' | 'post' | 'safe-post' | 'context-cleanup' | 'work-item';
  /** The filter's altitude. */
  readonly altitude: string;
  /** The IRP_MJ_ name of the operation. */
  readonly major: string;
  /** The scenario's file operation it is part of. */
  readonly operation: string;
  readonly file: string;
  readonly requester: number;
  /** The IRQL it was called at. */
  readonly irql: string;
  /** FLT_PREOP_* / FLT_POSTOP_* it returned. */
  returned?: string;
  /** A post-operation called with FLTFL_POST_OPERATION_DRAINING: its filter unregistered while the operation was in flight. */
  readonly draining?: true;
}

/** A file operation of a scenario (open, the operation, cleanup and close), and what its caller got back. */
export interface FileOpRecord {
  readonly op: number;
  readonly pid: number;
  readonly process: string;
  readonly operation: string;
  /** The file's path on the volume, as the caller named it. */
  readonly file: string;
  status: string;
  /** What the file system itself returned for the step the operation reached ('' when a filter completed it first). */
  native: string;
  /** The driver's filter had an instance on the volume (a started filter of its current load) from the operation's start to its end. */
  filtered: boolean;
  /** A pre-operation completed the operation with an error (FLT_PREOP_COMPLETE). */
  blocked?: { readonly routine: string; readonly major: string; readonly returned: string };
}

export interface Residue {
  readonly registrations: readonly string[];
  readonly devices: readonly string[];
  readonly links: readonly string[];
  /** Pool blocks the driver allocated and has not freed, as "Tag:size". */
  readonly pool: readonly string[];
}

/** A notification as the kernel raised it (whether or not the driver had a routine registered for it). */
export type NotificationKind = 'process-create' | 'process-exit' | 'thread-create' | 'thread-exit' | 'image-load';

export interface KernelEventRecord {
  readonly op: number;
  readonly kind: NotificationKind;
  readonly pid: number;
  readonly tid?: number;
  /**
   * The driver was loaded (its DriverEntry had succeeded and it was not unloaded) when the kernel raised it. Several
   * CPUs: false too when the driver's load or unload ran on another CPU while the kernel delivered it (whether a
   * routine registered or removed meanwhile sees it is timing, on Windows as here).
   */
  whileLoaded: boolean;
  /** seq of the driver's DriverEntry phase of that load, when loaded. */
  load?: number;
}

export interface OpRecord {
  readonly index: number;
  readonly op: unknown;
  /**
   * 'unfinished': still in flight when the machine stopped (several CPUs: an operation whose thread had not run to
   * its end when another CPU's bug check or verifier stop halted the run).
   */
  outcome: 'done' | 'skipped' | 'halted' | 'unfinished';
  note?: string;
}

export interface BugCheckRecord {
  readonly code: number;
  readonly name: string;
  readonly parameters: readonly string[];
  readonly reason: string;
  /** 'callback', 'DriverEntry', 'DriverUnload' or 'kernel' */
  readonly during: string;
  /** seq of the callback or phase it happened in, when any. */
  readonly seq: number | null;
  readonly op: number;
  /** The JavaScript exception of a driver, when that is what crashed (bug check 0x1E). */
  readonly exception?: string;
  /** The verifier check that raised it (docs/verifier.md). */
  readonly check?: string;
  /** The driver function that faulted, when known. */
  readonly function?: string;
  /** The driver's stack at the fault, innermost first, with source lines (a compiled driver). */
  readonly stack?: readonly SourceFrame[];
}

/** A verifier finding Windows would not bug-check on at once (kernel memory written, uninitialised value used). */
export interface VerifierStopRecord {
  readonly check: string;
  readonly reason: string;
  readonly address?: string;
  readonly function?: string;
  /** The driver's stack at the stop, innermost first, with source lines (a compiled driver). */
  readonly stack?: readonly SourceFrame[];
  readonly during: string;
  readonly seq: number | null;
  readonly op: number;
}

export interface EndState {
  readonly driver: {
    readonly name: string;
    /** never / loaded / unloaded (image freed) / pinned (unloaded or failed, image kept by a device) / failed-load */
    readonly image: 'never' | 'loaded' | 'unloaded' | 'pinned' | 'failed-load';
    readonly hasUnload: boolean;
    readonly loads: number;
  };
  readonly registrations: { readonly kind: NotifyKind; readonly slot: number; readonly owner: string; readonly routine: string }[];
  readonly devices: { readonly name: string | null; readonly owner: string }[];
  readonly links: { readonly name: string; readonly target: string; readonly owner: string }[];
  readonly processes: {
    readonly pid: number; readonly name: string; readonly state: string;
    readonly pointerCount: number; readonly driverRefs: number;
    /** A create routine set CreationStatus to this error: the status its creator got, and the process never ran. */
    readonly creationDenied?: string;
  }[];
  readonly threads: { readonly tid: number; readonly pid: number; readonly state: string; readonly pointerCount: number; readonly driverRefs: number }[];
  readonly driverPool: { readonly tag: string; readonly size: number }[];
  /** Key-object names CmCallbackGetKeyObjectIDEx gave the driver that CmCallbackReleaseKeyObjectIDEx never took back. */
  readonly keyObjectNames?: { readonly key: string; readonly routine: string; readonly op: number; readonly seq?: number; readonly unload?: number }[];
  /** FLT_FILE_NAME_INFORMATION references FltGetFileNameInformation (or FltReferenceFileNameInformation) gave the driver that it never released. */
  readonly fileNameInfos?: { readonly file: string; readonly routine: string; readonly op: number; readonly refs: number; readonly seq?: number; readonly unload?: number }[];
  /** Minifilter context references the driver holds (FltAllocateContext, FltGet…Context, FltReferenceContext, a set's OldContext), by the routine that took each. */
  readonly fltContexts?: { readonly context: string; readonly routine: string; readonly op: number; readonly seq?: number; readonly unload?: number }[];
}

export interface RunRecord {
  readonly format: typeof RUN_RECORD_FORMAT;
  readonly build: string;
  readonly profile: string;
  readonly reusePolicy: string;
  readonly driver: string;
  /** The value an uninitialised pointer holds (hex), to recognise reads through it. */
  readonly uninitializedPointer: string;
  readonly ops: OpRecord[];
  readonly phases: PhaseRecord[];
  readonly callbacks: CallbackRecord[];
  bugCheck: BugCheckRecord | null;
  /** Every notification the kernel raised (ground truth for completeness; absent in records of older versions). */
  events?: KernelEventRecord[];
  /** Registry operations, when the scenario had any. */
  registry?: RegistryOpRecord[];
  /** File operations, when the scenario had any. */
  files?: FileOpRecord[];
  /** The minifilter's communication ports: the service's connections and the messages it got. */
  portMessages?: PortMessageRecord[];
  /** Set when the verifier stopped the run without a bug check (absent in records of older versions). */
  verifierStop?: VerifierStopRecord | null;
  /**
   * Set when the simulated machine ran out of memory for the kernel's own objects (not the driver's quota: that
   * makes allocations return NULL). The run ends there; it is an outcome of the scenario, not a finding.
   */
  poolExhausted?: string;
  /** Several CPUs (absent on one). */
  concurrency?: ConcurrencyRecord;
  end: EndState | null;
}
