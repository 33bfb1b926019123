/**
 * The DDI surface a driver sees: WDK names and signatures, pointers as addresses (VAs) into kernel memory.
 * A driver gets exactly this object and nothing of the kernel's internals.
 */
import type { DbgArg } from './rtl/printf.js';
import type { NTSTATUS } from './status.js';
import type { SourceFrame } from './ke/bugcheck.js';

export type HANDLE = number;
export type PVOID = number;
export type PEPROCESS = number;
export type PETHREAD = number;
export type PUNICODE_STRING = number;
export type PDEVICE_OBJECT = number;

/** PCREATE_PROCESS_NOTIFY_ROUTINE ([DOC] ntddk/nc-ntddk-pcreate_process_notify_routine.md). */
export type PCREATE_PROCESS_NOTIFY_ROUTINE = (ParentId: HANDLE, ProcessId: HANDLE, Create: boolean) => void;
/** PCREATE_THREAD_NOTIFY_ROUTINE ([DOC] ntddk/nc-ntddk-pcreate_thread_notify_routine.md). */
export type PCREATE_THREAD_NOTIFY_ROUTINE = (ProcessId: HANDLE, ThreadId: HANDLE, Create: boolean) => void;
/** PLOAD_IMAGE_NOTIFY_ROUTINE: FullImageName may be NULL (0); ProcessId is 0 for a driver image. */
export type PLOAD_IMAGE_NOTIFY_ROUTINE = (FullImageName: PUNICODE_STRING, ProcessId: HANDLE, ImageInfo: PVOID) => void;
/** PCREATE_PROCESS_NOTIFY_ROUTINE_EX: CreateInfo points to PS_CREATE_NOTIFY_INFO on creation, 0 on exit. */
export type PCREATE_PROCESS_NOTIFY_ROUTINE_EX = (Process: PEPROCESS, ProcessId: HANDLE, CreateInfo: PVOID) => void;
export type PDRIVER_UNLOAD = (DriverObject: DRIVER_OBJECT) => void;

/** PSCREATETHREADNOTIFYTYPE ([DOC] nf-ntddk-pssetcreatethreadnotifyroutineex.md). */
export const PsCreateThreadNotifyNonSystem = 0;
export const PsCreateThreadNotifySubsystems = 1;
/** PSCREATEPROCESSNOTIFYTYPE. */
export const PsCreateProcessNotifySubsystems = 0;
export const PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE = 1;

/** PS_CREATE_NOTIFY_INFO field offsets for the build's pointer size ([DOC] ns-ntddk-_ps_create_notify_info.md). */
export interface PsCreateNotifyInfoLayout {
  readonly Size: number;
  readonly Flags: number;
  readonly ParentProcessId: number;
  readonly CreatingThreadId: number;
  readonly FileObject: number;
  readonly ImageFileName: number;
  readonly CommandLine: number;
  readonly CreationStatus: number;
  readonly size: number;
}
export type PDRIVER_DISPATCH = (DeviceObject: PDEVICE_OBJECT, Irp: PVOID) => NTSTATUS;
/** A cancel routine: called at DISPATCH_LEVEL holding the cancel spin lock, which it must release. */
export type PDRIVER_CANCEL = (DeviceObject: PDEVICE_OBJECT, Irp: PVOID) => void;

export {
  FILE_DEVICE_UNKNOWN, IRP_MAJOR, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL, IRP_MJ_MAXIMUM_FUNCTION, IRP_MJ_READ,
  IRP_MJ_WRITE, type IoStackLocationLayout, type IrpLayout,
} from './io/layouts.js';
import type { IoStackLocationLayout, IrpLayout } from './io/layouts.js';

/** The parts of DRIVER_OBJECT a driver writes: its unload routine and dispatch table. */
export interface DRIVER_OBJECT {
  readonly address: PVOID;
  DriverUnload: PDRIVER_UNLOAD | null;
  /** MajorFunction[0..IRP_MJ_MAXIMUM_FUNCTION], pre-filled by the I/O manager with IopInvalidDeviceRequest. */
  readonly MajorFunction: PDRIVER_DISPATCH[];
  /** First device object of the driver (0 when none). */
  readonly DeviceObject: PDEVICE_OBJECT;
}

/** An OUT parameter: the callee writes `value` on success and leaves it alone on failure. */
export interface Out<T> {
  value: T;
}

/** IMAGE_INFO field offsets for the build's pointer size ([DOC] ntddk/ns-ntddk-_image_info.md). */
export interface ImageInfoLayout {
  readonly Properties: number;
  readonly ImageBase: number;
  readonly ImageSelector: number;
  readonly ImageSize: number;
  readonly ImageSectionNumber: number;
}

export interface RTL_OSVERSIONINFOW {
  readonly dwMajorVersion: number;
  readonly dwMinorVersion: number;
  readonly dwBuildNumber: number;
}

import type { CmCallbackRoutines } from './cm/callback-types.js';
import type { FltRoutines } from './flt/filter-types.js';
import type { ObCallbackRoutines } from './ob/callback-types.js';

/** Time, events and waits (ke/dispatcher-ddis.ts); ERESOURCEs, push locks, rundown, lookaside lists, raising (ex/). */
/** A lookaside list's own allocate and free routines (NULL: pool). */
export type LookasideAllocate = ((PoolType: number, NumberOfBytes: number, Tag: number) => number) | null;
export type LookasideFree = ((Buffer: number) => void) | null;

export interface KeExRoutines {
  KeQuerySystemTime(CurrentTime: number): void;
  KeQuerySystemTimePrecise(CurrentTime: number): void;
  /** Returns the counter; writes the frequency when PerformanceFrequency is not NULL. */
  KeQueryPerformanceCounter(PerformanceFrequency: number): bigint;
  KeQueryTickCount(CurrentCount: number): void;
  KeQueryTimeIncrement(): number;
  KeInitializeEvent(Event: number, Type: number, State: boolean): void;
  KeSetEvent(Event: number, Increment: number, Wait: boolean): number;
  KeResetEvent(Event: number): number;
  KeClearEvent(Event: number): void;
  KeReadStateEvent(Event: number): number;
  /** Timeout: a pointer to a LARGE_INTEGER (relative if negative), or 0 for none. */
  KeWaitForSingleObject(Object: number, WaitReason: number, WaitMode: number, Alertable: boolean, Timeout: number): NTSTATUS;
  KeDelayExecutionThread(WaitMode: number, Alertable: boolean, Interval: number): NTSTATUS;
  KeEnterCriticalRegion(): void;
  KeLeaveCriticalRegion(): void;
  ExAllocatePoolWithQuotaTag(PoolType: number, NumberOfBytes: number | bigint, Tag: string): number;
  ExInitializeResourceLite(Resource: number): NTSTATUS;
  ExAcquireResourceExclusiveLite(Resource: number, Wait: boolean): boolean;
  ExAcquireResourceSharedLite(Resource: number, Wait: boolean): boolean;
  ExReleaseResourceLite(Resource: number): void;
  ExDeleteResourceLite(Resource: number): NTSTATUS;
  ExInitializeNPagedLookasideList(Lookaside: number, Allocate: LookasideAllocate, Free: LookasideFree, Flags: number, Size: number, Tag: string, Depth: number): void;
  ExAllocateFromNPagedLookasideList(Lookaside: number): number;
  ExFreeToNPagedLookasideList(Lookaside: number, Entry: number): void;
  ExDeleteNPagedLookasideList(Lookaside: number): void;
  ExInitializePushLock(PushLock: number): void;
  ExAcquirePushLockExclusiveEx(PushLock: number, Flags: number): void;
  ExAcquirePushLockSharedEx(PushLock: number, Flags: number): void;
  ExReleasePushLockExclusiveEx(PushLock: number, Flags: number): void;
  ExReleasePushLockSharedEx(PushLock: number, Flags: number): void;
  ExInitializeRundownProtection(RunRef: number): void;
  ExReInitializeRundownProtection(RunRef: number): void;
  ExAcquireRundownProtection(RunRef: number): boolean;
  ExReleaseRundownProtection(RunRef: number): void;
  ExWaitForRundownProtectionRelease(RunRef: number): void;
  ExRundownCompleted(RunRef: number): void;
  /** Raises an exception: with no SEH modelled, nothing catches it (0x1E). */
  ExRaiseStatus(Status: number): never;
  /** A user-mode buffer's range and alignment; anything else raises (STATUS_ACCESS_VIOLATION / _DATATYPE_MISALIGNMENT). */
  ProbeForRead(Address: number, Length: number, Alignment: number): void;
  ProbeForWrite(Address: number, Length: number, Alignment: number): void;
}

/** The Ps queries, kernel handles and references by pointer, SeLocateProcessImageName (ps/query-ddis.ts, ob/handle-ddis.ts, se/). */
export interface ProcessInfoRoutines {
  PsGetCurrentThread(): number;
  PsGetThreadId(Thread: number): number;
  PsGetThreadProcessId(Thread: number): number;
  PsIsSystemThread(Thread: number): boolean;
  /** LONGLONG: the process's creation time. */
  PsGetProcessCreateTimeQuadPart(Process: number): bigint;
  PsGetProcessInheritedFromUniqueProcessId(Process: number): number;
  PsGetCurrentProcessSessionId(): number;
  PsGetProcessSessionId(Process: number): number;
  PsGetProcessPeb(Process: number): number;
  PsIsProtectedProcess(Process: number): boolean;
  /** Cid: a CLIENT_ID in memory; Process may be 0 (not wanted). */
  PsLookupProcessThreadByCid(Cid: number, Process: number, Thread: number): NTSTATUS;
  /** Writes a pointer to a pool UNICODE_STRING (header and characters in one block the caller frees). */
  SeLocateProcessImageName(Process: number, pImageFileName: number): NTSTATUS;
  ZwQueryInformationProcess(ProcessHandle: number, InfoClass: number, Information: number, Length: number, ReturnLength: number): NTSTATUS;
  ObOpenObjectByPointer(Object: number, HandleAttributes: number, AccessState: number, DesiredAccess: number, ObjectType: number, AccessMode: number, Handle: number): NTSTATUS;
  ZwClose(Handle: number): NTSTATUS;
  ObReferenceObjectByPointer(Object: number, DesiredAccess: number, ObjectType: number, AccessMode: number): NTSTATUS;
  /** The address of the exported variable PsProcessType (0) or PsThreadType (1): POBJECT_TYPE *. */
  PSH_OBJECT_TYPE_VARIABLE(Index: number): number;
}

/** The run-time library's string routines and the kernel CRT's printf family (rtl/string-ddis.ts). */
export interface RtlRoutines {
  RtlInitAnsiString(Destination: number, Source: number): void;
  RtlInitString(Destination: number, Source: number): void;
  RtlAnsiStringToUnicodeString(Destination: number, Source: number, Allocate: boolean): NTSTATUS;
  RtlUnicodeStringToAnsiString(Destination: number, Source: number, Allocate: boolean): NTSTATUS;
  RtlFreeAnsiString(String: number): void;
  RtlFreeUnicodeString(String: number): void;
  RtlAppendUnicodeToString(Destination: number, Source: number): NTSTATUS;
  RtlAppendUnicodeStringToString(Destination: number, Source: number): NTSTATUS;
  RtlPrefixUnicodeString(String1: number, String2: number, CaseInSensitive: boolean): boolean;
  RtlUpcaseUnicodeString(Destination: number, Source: number, Allocate: boolean): NTSTATUS;
  RtlIntegerToUnicodeString(Value: number, Base: number, String: number): NTSTATUS;
  RtlUnicodeStringToInteger(String: number, Base: number, Value: number): NTSTATUS;
  RtlCompareMemory(Source1: number, Source2: number, Length: number): number;
  /** `sprintf`: unbounded; returns the characters written (the NUL not counted). */
  sprintf(Buffer: number, Format: number, ...args: DbgArg[]): number;
  /** `_snprintf`: at most Count characters; -1 when the output did not fit (then no NUL is written). */
  _snprintf(Buffer: number, Count: number, Format: number, ...args: DbgArg[]): number;
  /** ntoskrnl's `swprintf` (no count: the pre-C99 Microsoft signature). */
  swprintf(Buffer: number, Format: number, ...args: DbgArg[]): number;
  _snwprintf(Buffer: number, Count: number, Format: number, ...args: DbgArg[]): number;
  /** ntstrsafe: always NUL-terminated; STATUS_BUFFER_OVERFLOW when truncated. Cb: sizes in bytes; Cch: in characters. */
  RtlStringCbPrintfA(Dest: number, cbDest: number, Format: number, ...args: DbgArg[]): NTSTATUS;
  RtlStringCchPrintfA(Dest: number, cchDest: number, Format: number, ...args: DbgArg[]): NTSTATUS;
  RtlStringCbPrintfW(Dest: number, cbDest: number, Format: number, ...args: DbgArg[]): NTSTATUS;
  RtlStringCchPrintfW(Dest: number, cchDest: number, Format: number, ...args: DbgArg[]): NTSTATUS;
  RtlStringCbCopyNA(Dest: number, cbDest: number, Src: number, cbToCopy: number): NTSTATUS;
  RtlStringCchCopyNA(Dest: number, cchDest: number, Src: number, cchToCopy: number): NTSTATUS;
  RtlStringCbCopyNW(Dest: number, cbDest: number, Src: number, cbToCopy: number): NTSTATUS;
  RtlStringCchCopyNW(Dest: number, cchDest: number, Src: number, cchToCopy: number): NTSTATUS;
}

export interface Ddi extends RtlRoutines, ProcessInfoRoutines, KeExRoutines, ObCallbackRoutines, CmCallbackRoutines, FltRoutines {
  /** sizeof(PVOID) of the build the driver was compiled for. */
  readonly pointerSize: 4 | 8;
  /**
   * The kernel's address space, for a driver compiled to WebAssembly that shares it as its linear memory. Under a
   * TypeScript driver it may be larger than twice the address space (a reused memory that grew in an earlier run).
   */
  readonly memory: WebAssembly.Memory;
  readonly IMAGE_INFO: ImageInfoLayout;
  readonly PS_CREATE_NOTIFY_INFO: PsCreateNotifyInfoLayout;
  readonly IRP: IrpLayout;
  readonly IO_STACK_LOCATION: IoStackLocationLayout;
  /** Offsets inside UNICODE_STRING: Length, MaximumLength, Buffer. */
  readonly UNICODE_STRING: { readonly Length: 0; readonly MaximumLength: 2; readonly Buffer: 4 | 8; readonly size: 8 | 16 };

  // ---- memory access: what `*p` compiles to. A bad address bug-checks like the real machine.
  READ_UCHAR(p: PVOID): number;
  READ_USHORT(p: PVOID): number;
  READ_ULONG(p: PVOID): number;
  READ_POINTER(p: PVOID): PVOID;
  WRITE_UCHAR(p: PVOID, v: number): void;
  WRITE_USHORT(p: PVOID, v: number): void;
  WRITE_ULONG(p: PVOID, v: number): void;
  WRITE_POINTER(p: PVOID, v: PVOID): void;
  RtlCopyMemory(destination: PVOID, source: PVOID, length: number): void;
  RtlZeroMemory(destination: PVOID, length: number): void;
  /** A C local with no initializer: it holds whatever was on the stack. */
  uninitialized(): Out<PVOID>;

  // ---- version and exports
  RtlGetVersion(): RTL_OSVERSIONINFOW;
  /** Non-zero when the routine is exported by this build ([DOC] wdm/nf-wdm-mmgetsystemroutineaddress.md). */
  MmGetSystemRoutineAddress(name: string): PVOID;

  // ---- notify routines
  PsSetCreateProcessNotifyRoutine(NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE, Remove: boolean): NTSTATUS;
  PsSetCreateThreadNotifyRoutine(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE): NTSTATUS;
  PsRemoveCreateThreadNotifyRoutine(NotifyRoutine: PCREATE_THREAD_NOTIFY_ROUTINE): NTSTATUS;
  PsSetLoadImageNotifyRoutine(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE): NTSTATUS;
  PsRemoveLoadImageNotifyRoutine(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE): NTSTATUS;
  /** Vista SP1+. */
  PsSetCreateProcessNotifyRoutineEx(NotifyRoutine: PCREATE_PROCESS_NOTIFY_ROUTINE_EX, Remove: boolean): NTSTATUS;
  /** Windows 10 1703+: NotifyType must be PsCreateProcessNotifySubsystems. */
  PsSetCreateProcessNotifyRoutineEx2(NotifyType: number, NotifyInformation: PCREATE_PROCESS_NOTIFY_ROUTINE_EX, Remove: boolean): NTSTATUS;
  /** Windows 10+: with PsCreateThreadNotifyNonSystem the create callback runs on the new thread. */
  PsSetCreateThreadNotifyRoutineEx(NotifyType: number, NotifyInformation: PCREATE_THREAD_NOTIFY_ROUTINE): NTSTATUS;
  /** Windows 10 1709+. */
  PsSetLoadImageNotifyRoutineEx(NotifyRoutine: PLOAD_IMAGE_NOTIFY_ROUTINE, Flags: number): NTSTATUS;

  // ---- processes and objects
  PsLookupProcessByProcessId(ProcessId: HANDLE, Process: Out<PEPROCESS>): NTSTATUS;
  PsLookupThreadByThreadId(ThreadId: HANDLE, Thread: Out<PETHREAD>): NTSTATUS;
  ObDereferenceObject(Object: PVOID): void;
  ObReferenceObject(Object: PVOID): void;
  PsGetCurrentProcessId(): HANDLE;
  PsGetCurrentThreadId(): HANDLE;
  PsGetCurrentProcess(): PEPROCESS;
  PsGetProcessId(Process: PEPROCESS): HANDLE;
  /** Undocumented, 5.1+: returns the address of EPROCESS.ImageFileName. */
  PsGetProcessImageFileName(Process: PEPROCESS): PVOID;

  // ---- I/O manager
  IoCreateDevice(DriverObject: DRIVER_OBJECT, DeviceExtensionSize: number, DeviceName: string | null,
    DeviceType: number, DeviceCharacteristics: number, Exclusive: boolean, DeviceObject: Out<PDEVICE_OBJECT>): NTSTATUS;
  IoDeleteDevice(DeviceObject: PDEVICE_OBJECT): void;
  IoCreateSymbolicLink(SymbolicLinkName: string, DeviceName: string): NTSTATUS;
  IoDeleteSymbolicLink(SymbolicLinkName: string): NTSTATUS;
  /** Completes an IRP: the I/O manager owns it again, and the driver must not touch it afterwards. */
  IoCompleteRequest(Irp: PVOID, PriorityBoost: number): void;
  /** wdm.h's IoMarkIrpPending: SL_PENDING_RETURNED in the current stack location. */
  IoMarkIrpPending(Irp: PVOID): void;
  /** wdm.h's IoSetCancelRoutine: an interlocked exchange of Irp->CancelRoutine; returns the routine it replaced. */
  IoSetCancelRoutine(Irp: PVOID, CancelRoutine: PDRIVER_CANCEL | null): PDRIVER_CANCEL | null;
  /** Takes the I/O manager's cancel spin lock; returns the IRQL to restore. */
  IoAcquireCancelSpinLock(): number;
  IoReleaseCancelSpinLock(Irql: number): void;
  IoGetCurrentIrpStackLocation(Irp: PVOID): PVOID;

  // ---- pool
  ExAllocatePoolWithTag(PoolType: number, NumberOfBytes: number | bigint, Tag: string): PVOID;
  ExFreePoolWithTag(P: PVOID, Tag: string): void;
  /** Windows 10 2004+: zeroed unless POOL_FLAG_UNINITIALIZED; NULL on failure. */
  ExAllocatePool2(Flags: bigint, NumberOfBytes: number | bigint, Tag: string): PVOID;

  // ---- synchronisation (one CPU: acquiring a lock already held is a deadlock)
  KeInitializeSpinLock(SpinLock: PVOID): void;
  KeAcquireSpinLock(SpinLock: PVOID): number;
  KeReleaseSpinLock(SpinLock: PVOID, NewIrql: number): void;
  ExInitializeFastMutex(FastMutex: PVOID): void;
  ExAcquireFastMutex(FastMutex: PVOID): void;
  ExReleaseFastMutex(FastMutex: PVOID): void;
  KeInitializeGuardedMutex(Mutex: PVOID): void;
  KeAcquireGuardedMutex(Mutex: PVOID): void;
  KeReleaseGuardedMutex(Mutex: PVOID): void;
  KeGetCurrentIrql(): number;
  /** The spin lock raised to DISPATCH_LEVEL: returns the old IRQL (the same as KeAcquireSpinLock). */
  KeAcquireSpinLockRaiseToDpc(SpinLock: PVOID): number;
  /** Queued spin locks: the KLOCK_QUEUE_HANDLE records the lock and the IRQL to return to. */
  KeAcquireInStackQueuedSpinLock(SpinLock: PVOID, LockHandle: PVOID): void;
  KeReleaseInStackQueuedSpinLock(LockHandle: PVOID): void;
  /** KeRaiseIrql (KfRaiseIrql on x86): returns the old IRQL. Lowering through it is bug check 0xC4/0x30. */
  KeRaiseIrql(NewIrql: number): number;
  /** KeLowerIrql (KfLowerIrql on x86): raising through it is bug check 0xC4/0x31. */
  KeLowerIrql(NewIrql: number): void;
  KeBugCheckEx(BugCheckCode: number, P1: number, P2: number, P3: number, P4: number): never;

  // ---- debug output
  DbgPrint(Format: string, ...args: DbgArg[]): NTSTATUS;
  /** XP+: sent only when the debugger's print filter lets (ComponentId, Level) through. */
  DbgPrintEx(ComponentId: number, Level: number, Format: string, ...args: DbgArg[]): NTSTATUS;

  // ---- the verifier's hooks for a driver compiled to WebAssembly (docs/verifier.md)
  /** A load or store of the driver's own code that the inline shadow check flagged. */
  VERIFY_ACCESS(Address: PVOID, Length: number, Write: boolean, Site?: number): void;
  /** Where a VA lies in `memory` (-1 when unmapped): x64 WebAssembly drivers see the kernel at canonical addresses. */
  MEMORY_OFFSET(Address: PVOID): number;
  /** A value the driver hands to the kernel: stops the run if it was just read from uninitialised pool. */
  VERIFY_VALUE(Routine: string, Position: number, Value: number | bigint): void;
  /** The driver's own work counter ran out (the watchdog pass): 0x133 at DISPATCH_LEVEL, a hang below. */
  WORK_EXCEEDED(): never;
  /** Units of work (loop iterations and calls) a routine may spend before the watchdog fires. */
  readonly WORK_BUDGET: number;
  /**
   * A function the driver placed in a PAGE (`pageable`) or INIT (`discardable`) section runs, at its entry or before
   * a call it makes: paged code at DISPATCH_LEVEL under the verifier is 0xD1, INIT code after DriverEntry is 0x50.
   */
  CODE_SECTION_EXECUTES(Function: string, Kind: 'pageable' | 'discardable', Section: string): void;

  // ---- the scheduler's hooks for a driver compiled to WebAssembly (docs/concurrency.md)
  /** The CPU of the thread of execution running now, or -1 when the run is sequential (one CPU). */
  CPU(): number;
  /** A scheduling point in the driver's code: true when the running thread must be switched out now. */
  SCHEDULING_POINT(At: string | (() => string), Access?: boolean): boolean;
  /** The running driver routine unwound (at a scheduling point, or to wait): it resumes when called again. */
  SUSPENDED(): void;
  /** The buffer CPU `Cpu`'s suspended driver frames are saved in (kernel memory: its VA and size). */
  FIBER_BUFFER(Cpu: number): { readonly buffer: number; readonly size: number };
  /** An Interlocked operation on `Address` begins (no scheduling point until it ends; it synchronises). */
  ATOMIC_BEGIN(Address: PVOID): void;
  ATOMIC_END(): void;
}

/** A loaded driver's code: fresh globals for every load. */
export interface DriverInstance {
  DriverEntry(ddi: Ddi, DriverObject: DRIVER_OBJECT, RegistryPath: PUNICODE_STRING): NTSTATUS;
  /** A routine of the image by the address the driver stored (a compiled driver's Irp->CancelRoutine); null if none. */
  routineAt?(pointer: number): PDRIVER_CANCEL | null;
  /** The run is over (its record taken): what the instance holds may serve the image's next instances. */
  release?(): void;
  /** The driver's frames on a JavaScript stack trace, by function, file and line (a compiled driver). */
  symbolize?(stack: string | undefined): readonly SourceFrame[];
}

/** A driver image as the loader sees it. */
export interface DriverImage {
  /** Service name, e.g. 'wssprocmon'. */
  readonly name: string;
  /** DDIs the image imports statically; loading fails on a build that does not export one of them. */
  readonly imports: readonly string[];
  instantiate(): DriverInstance;
  /**
   * The image built to be switched out inside its own code (binaryen's asyncify: docs/concurrency.md), for runs on
   * several CPUs. Without it such runs interleave the driver's routines whole.
   */
  readonly instantiateFibers?: () => DriverInstance;
  /**
   * A driver compiled to WebAssembly: memory below `reservedLow` is its own (stack and data). An x86 image's
   * kernel addresses are its linear-memory offsets; an x64 image's are the kernel's canonical ones (docs/x64.md).
   * Such an image runs on the builds of its pointer size.
   */
  readonly addressSpace?: WasmAddressSpace;
  /** The source line (`proctable.c:345`) of an access site its memory checks pass to VERIFY_ACCESS. */
  readonly siteLine?: (site: number) => string | undefined;
  /** The driver's variable at an address of its image (`gCount`, `gTable+0x10`), from its debug information. */
  readonly symbolAt?: (address: number) => string | undefined;
  /** The same WebAssembly driver compiled for x64, when this image is its x86 build. */
  readonly x64?: DriverImage;
  /** Driver Verifier is enabled per driver (`verifier /driver x.sys`); here on unless this is false. */
  readonly verifier?: boolean;
  /**
   * Whether the image was linked with /INTEGRITYCHECK (IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY): without it the
   * Ex/Ex2 process registrations and ObRegisterCallbacks return STATUS_ACCESS_DENIED. Default true.
   */
  readonly integrityCheck?: boolean;
}

/** Where a WebAssembly driver's image lies in the low part of kernel memory. */
export interface WasmAddressSpace {
  readonly reservedLow: number;
  /** 4: a wasm32 (x86) image; 8: a wasm64 (x64) image. */
  readonly pointerSize: 4 | 8;
  /** The memory size (pages) the module declares as its minimum. */
  readonly minPages?: number;
  /** [start, end) of the guard page below the driver's stack. */
  readonly stackGuard?: readonly [number, number];
  /** [start, end) of the image's read-only data. */
  readonly readOnly?: readonly [number, number];
  /** Where the image's data begins (its stack lies below): [dataStart, reservedLow) is shared between CPUs. */
  readonly dataStart?: number;
}

/** The image of `driver` that runs on a build of this pointer size; undefined when it has none. */
export function imageFor(driver: DriverImage, pointerSize: 4 | 8): DriverImage | undefined {
  if (driver.addressSpace === undefined || driver.addressSpace.pointerSize === pointerSize) return driver;
  return pointerSize === 8 ? driver.x64 : undefined;
}

/** Routines the simulated kernel exports (MmGetSystemRoutineAddress finds these, where the build has them). */
export const DDI_NAMES: readonly string[] = [
  'ObfReferenceObject', 'ObfDereferenceObject', 'IoGetCurrentProcess', 'IofCompleteRequest', 'RtlInitUnicodeString',
  'RtlCopyUnicodeString', 'RtlCompareUnicodeString', 'RtlEqualUnicodeString', 'DbgPrintEx',
  'RtlGetVersion', 'MmGetSystemRoutineAddress',
  'PsSetCreateProcessNotifyRoutine', 'PsSetCreateThreadNotifyRoutine', 'PsRemoveCreateThreadNotifyRoutine',
  'PsSetLoadImageNotifyRoutine', 'PsRemoveLoadImageNotifyRoutine', 'PsSetCreateProcessNotifyRoutineEx',
  'PsSetCreateProcessNotifyRoutineEx2', 'PsSetCreateThreadNotifyRoutineEx', 'PsSetLoadImageNotifyRoutineEx',
  'PsLookupProcessByProcessId', 'PsLookupThreadByThreadId', 'ObDereferenceObject', 'ObReferenceObject',
  'PsGetCurrentProcessId', 'PsGetCurrentThreadId', 'PsGetCurrentProcess', 'PsGetProcessId', 'PsGetProcessImageFileName',
  'IoCreateDevice', 'IoDeleteDevice', 'IoCreateSymbolicLink', 'IoDeleteSymbolicLink', 'IoCompleteRequest',
  'IoAcquireCancelSpinLock', 'IoReleaseCancelSpinLock',
  'ExAllocatePoolWithTag', 'ExFreePoolWithTag', 'ExAllocatePool2', 'KeInitializeSpinLock', 'KeAcquireSpinLock',
  'KeReleaseSpinLock', 'ExInitializeFastMutex', 'ExAcquireFastMutex', 'ExReleaseFastMutex', 'KeInitializeGuardedMutex', 'KeAcquireGuardedMutex', 'KeReleaseGuardedMutex', 'KeGetCurrentIrql',
  'KfRaiseIrql', 'KfLowerIrql', 'KeBugCheckEx', 'DbgPrint',
  'CmRegisterCallbackEx', 'CmRegisterCallback', 'CmUnRegisterCallback', 'CmCallbackGetKeyObjectIDEx', 'CmCallbackReleaseKeyObjectIDEx', 'CmCallbackGetKeyObjectID', 'CmGetCallbackVersion',
  'FltRegisterFilter', 'FltStartFiltering', 'FltUnregisterFilter', 'FltGetFileNameInformation', 'FltParseFileNameInformation',
  'FltReferenceFileNameInformation', 'FltReleaseFileNameInformation', 'FltGetRequestorProcessId', 'FltDoCompletionProcessingWhenSafe',
  'FltBuildDefaultSecurityDescriptor', 'FltFreeSecurityDescriptor', 'FltCreateCommunicationPort', 'FltCloseCommunicationPort', 'FltCloseClientPort', 'FltSendMessage',
  'FltAllocateContext', 'FltReferenceContext', 'FltReleaseContext', 'FltDeleteContext', 'FltSetStreamContext', 'FltGetStreamContext', 'FltSetStreamHandleContext',
  'FltGetStreamHandleContext', 'FltAllocateDeferredIoWorkItem', 'FltFreeDeferredIoWorkItem', 'FltQueueDeferredIoWorkItem', 'FltCompletePendedPreOperation', 'FltCompletePendedPostOperation',
];
