/**
 * File-system minifilters (fltKernel.h): the registration a driver hands FltRegisterFilter, the routines the filter
 * manager calls, their statuses, and the layouts of FLT_CALLBACK_DATA, FLT_IO_PARAMETER_BLOCK, FLT_RELATED_OBJECTS
 * and FLT_FILE_NAME_INFORMATION on x86 and x64 ([DOC] fltkernel/ns-fltkernel-_flt_registration,
 * fltkernel/ns-fltkernel-_flt_callback_data, fltkernel/ns-fltkernel-_flt_io_parameter_block,
 * fltkernel/ns-fltkernel-_flt_related_objects, fltkernel/ns-fltkernel-_flt_file_name_information).
 */
import type { NTSTATUS } from '../status.js';

/** The major functions the filter manager raises here (wdm.h; IRP_MJ_OPERATION_END ends the registration array). */
export const FLT_MAJOR = { IRP_MJ_CREATE: 0x00, IRP_MJ_CLOSE: 0x02, IRP_MJ_READ: 0x03, IRP_MJ_WRITE: 0x04, IRP_MJ_SET_INFORMATION: 0x06, IRP_MJ_CLEANUP: 0x12 } as const;
export type FltMajorName = keyof typeof FLT_MAJOR;
export const IRP_MJ_OPERATION_END = 0x80;

/** FLT_PREOP_CALLBACK_STATUS. */
export const FLT_PREOP_SUCCESS_WITH_CALLBACK = 0;
export const FLT_PREOP_SUCCESS_NO_CALLBACK = 1;
export const FLT_PREOP_PENDING = 2;
export const FLT_PREOP_DISALLOW_FASTIO = 3;
export const FLT_PREOP_COMPLETE = 4;
export const FLT_PREOP_SYNCHRONIZE = 5;
export type FltPreOperationStatus = number;
/** PFLT_DEFERRED_IO_WORKITEM_ROUTINE: (FltWorkItem, CallbackData, Context). */
export type FltDeferredIoWorkItemRoutine = (FltWorkItem: number, CallbackData: number, Context: number) => void;
export const PREOP_NAMES = ['FLT_PREOP_SUCCESS_WITH_CALLBACK', 'FLT_PREOP_SUCCESS_NO_CALLBACK', 'FLT_PREOP_PENDING', 'FLT_PREOP_DISALLOW_FASTIO', 'FLT_PREOP_COMPLETE', 'FLT_PREOP_SYNCHRONIZE'];
/** FLT_POSTOP_CALLBACK_STATUS. */
export const FLT_POSTOP_FINISHED_PROCESSING = 0;
export const FLT_POSTOP_MORE_PROCESSING_REQUIRED = 1;
/** PFLT_POST_OPERATION_CALLBACK Flags: the instance is being torn down; the call only cleans up (fltKernel.h). */
export const FLTFL_POST_OPERATION_DRAINING = 0x00000001;
/** FLTFL_CALLBACK_DATA_IRP_OPERATION: every operation here is IRP-based. */
export const FLTFL_CALLBACK_DATA_IRP_OPERATION = 0x1;
/** FileRenameInformation, FileDispositionInformation (FILE_INFORMATION_CLASS). */
export const FileRenameInformation = 10;
export const FileDispositionInformation = 13;
/** FLT_FILE_NAME_NORMALIZED, _OPENED, _SHORT: the low byte of NameOptions. */
export const FLT_FILE_NAME_FORMATS = [1, 2, 3];
/** FLTFL_FILE_NAME_PARSED_*: what FltParseFileNameInformation filled. */
export const FLTFL_FILE_NAME_PARSED_ALL = 0xf;
/** FLT_FSTYPE_NTFS, FILE_DEVICE_DISK_FILE_SYSTEM: the one volume's file system and device type. */
export const FLT_FSTYPE_NTFS = 2;
export const FILE_DEVICE_DISK_FILE_SYSTEM = 8;
/** FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT: FltStartFiltering attaches to the volumes already mounted. */
export const FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT = 1;

/** PFLT_PRE_OPERATION_CALLBACK: (Data, FltObjects, &CompletionContext) → FLT_PREOP_CALLBACK_STATUS. */
export type FltPreOperation = (Data: number, FltObjects: number, CompletionContext: number) => number;
/** PFLT_POST_OPERATION_CALLBACK: (Data, FltObjects, CompletionContext, Flags) → FLT_POSTOP_CALLBACK_STATUS. */
export type FltPostOperation = (Data: number, FltObjects: number, CompletionContext: number, Flags: number) => number;
/** PFLT_FILTER_UNLOAD_CALLBACK. */
export type FltFilterUnload = (Flags: number) => NTSTATUS;
/** PFLT_INSTANCE_SETUP_CALLBACK: (FltObjects, Flags, VolumeDeviceType, VolumeFilesystemType) → NTSTATUS. */
export type FltInstanceSetup = (FltObjects: number, Flags: number, VolumeDeviceType: number, VolumeFilesystemType: number) => NTSTATUS;
/** PFLT_INSTANCE_TEARDOWN_CALLBACK: (FltObjects, Reason). */
export type FltInstanceTeardown = (FltObjects: number, Reason: number) => void;
/** PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK: (FltObjects, Flags) → STATUS_SUCCESS or STATUS_FLT_DO_NOT_DETACH. */
export type FltInstanceQueryTeardown = (FltObjects: number, Flags: number) => NTSTATUS;
/** FLT_INSTANCE_TEARDOWN_FLAGS: the minifilter driver is being unloaded (fltKernel.h). */
export const FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD = 0x00000002;

/**
 * PFLT_CONNECT_NOTIFY: (ClientPort, ServerPortCookie, ConnectionContext, SizeOfContext, &ConnectionPortCookie) →
 * NTSTATUS; an error refuses the connection ([DOC] fltkernel/nf-fltkernel-fltcreatecommunicationport).
 */
export type FltConnectNotify = (ClientPort: number, ServerPortCookie: number, ConnectionContext: number, SizeOfContext: number, ConnectionPortCookie: number) => NTSTATUS;
/** PFLT_DISCONNECT_NOTIFY: (ConnectionCookie). */
export type FltDisconnectNotify = (ConnectionCookie: number) => void;
/** PFLT_MESSAGE_NOTIFY: (PortCookie, InputBuffer, InputBufferLength, OutputBuffer, OutputBufferLength, &ReturnOutputBufferLength). */
export type FltMessageNotify = (PortCookie: number, InputBuffer: number, InputBufferLength: number, OutputBuffer: number, OutputBufferLength: number,
  ReturnOutputBufferLength: number) => NTSTATUS;

/** FltCreateCommunicationPort's arguments, as the filter manager read them (OBJECT_ATTRIBUTES: its name and attributes). */
export interface FltPortInput {
  readonly Name: string | null;
  readonly Attributes: number;
  readonly SecurityDescriptor: number;
  readonly ServerPortCookie: number;
  readonly ConnectNotifyCallback: FltConnectNotify | null;
  readonly DisconnectNotifyCallback: FltDisconnectNotify | null;
  readonly MessageNotifyCallback: FltMessageNotify | null;
  readonly MaxConnections: number;
}

/** FLT_CONTEXT_TYPE values ([DOC] fltkernel/ns-fltkernel-_flt_context_registration). */
export const FLT_VOLUME_CONTEXT = 0x0001;
export const FLT_INSTANCE_CONTEXT = 0x0002;
export const FLT_FILE_CONTEXT = 0x0004;
export const FLT_STREAM_CONTEXT = 0x0008;
export const FLT_STREAMHANDLE_CONTEXT = 0x0010;
export const FLT_TRANSACTION_CONTEXT = 0x0020;
export const FLT_SECTION_CONTEXT = 0x0040;
export const FLT_CONTEXT_END = 0xffff;
export const CONTEXT_TYPE_NAMES: Readonly<Record<number, string>> = {
  [FLT_VOLUME_CONTEXT]: 'volume', [FLT_INSTANCE_CONTEXT]: 'instance', [FLT_FILE_CONTEXT]: 'file', [FLT_STREAM_CONTEXT]: 'stream',
  [FLT_STREAMHANDLE_CONTEXT]: 'stream-handle', [FLT_TRANSACTION_CONTEXT]: 'transaction', [FLT_SECTION_CONTEXT]: 'section',
};
/** FLT_VARIABLE_SIZED_CONTEXTS: a registration whose Size is this takes any size. */
export const FLT_VARIABLE_SIZED_CONTEXTS = -1;
/** FLT_SET_CONTEXT_OPERATION. */
export const FLT_SET_CONTEXT_REPLACE_IF_EXISTS = 0;
export const FLT_SET_CONTEXT_KEEP_IF_EXISTS = 1;
/** PFLT_CONTEXT_CLEANUP_CALLBACK: (Context, ContextType), before the filter manager frees it. */
export type FltContextCleanup = (Context: number, ContextType: number) => void;

/** One FLT_CONTEXT_REGISTRATION entry, as the filter manager read it (the array up to FLT_CONTEXT_END). */
export interface FltContextRegistration {
  readonly ContextType: number;
  readonly Flags: number;
  readonly ContextCleanupCallback: FltContextCleanup | null;
  /** Bytes, or FLT_VARIABLE_SIZED_CONTEXTS. */
  readonly Size: number;
  readonly PoolTag: string;
}

/** One FLT_OPERATION_REGISTRATION entry, as the filter manager read it. */
export interface FltOperationRegistration {
  readonly MajorFunction: number;
  readonly Flags: number;
  readonly PreOperation: FltPreOperation | null;
  readonly PostOperation: FltPostOperation | null;
}

/** FLT_REGISTRATION, as the filter manager read it (the array up to IRP_MJ_OPERATION_END). */
export interface FltRegistrationInput {
  readonly Size: number;
  readonly Version: number;
  readonly Flags: number;
  readonly OperationRegistration: readonly FltOperationRegistration[];
  /** FLT_REGISTRATION.ContextRegistration (absent: none). */
  readonly ContextRegistration?: readonly FltContextRegistration[];
  readonly FilterUnloadCallback: FltFilterUnload | null;
  readonly InstanceSetupCallback: FltInstanceSetup | null;
  /** Read, never called: only a manual detach (FilterDetach, FltDetachVolume) asks it, and nothing here detaches one. */
  readonly InstanceQueryTeardownCallback?: FltInstanceQueryTeardown | null;
  readonly InstanceTeardownStartCallback?: FltInstanceTeardown | null;
  readonly InstanceTeardownCompleteCallback?: FltInstanceTeardown | null;
}

export interface FltRoutines {
  /** Writes the filter pointer on success only ([DOC] fltkernel/nf-fltkernel-fltregisterfilter). */
  FltRegisterFilter(Driver: number, Registration: FltRegistrationInput, RetFilter: { value: number }): NTSTATUS;
  FltStartFiltering(Filter: number): NTSTATUS;
  FltUnregisterFilter(Filter: number): void;
  /** A referenced FLT_FILE_NAME_INFORMATION the caller releases with FltReleaseFileNameInformation. */
  FltGetFileNameInformation(CallbackData: number, NameOptions: number, FileNameInformation: { value: number }): NTSTATUS;
  FltParseFileNameInformation(FileNameInformation: number): NTSTATUS;
  FltReferenceFileNameInformation(FileNameInformation: number): void;
  FltReleaseFileNameInformation(FileNameInformation: number): void;
  FltGetRequestorProcessId(CallbackData: number): number;
  /** TRUE when SafePostCallback ran, or is queued to run at PASSIVE_LEVEL (RetPostOperationStatus says which). */
  FltDoCompletionProcessingWhenSafe(Data: number, FltObjects: number, CompletionContext: number, Flags: number, SafePostCallback: FltPostOperation,
    RetPostOperationStatus: { value: number }): boolean;
  /** A paged-pool security descriptor granting DesiredAccess to System and Administrators; FltFreeSecurityDescriptor frees it. */
  FltBuildDefaultSecurityDescriptor(SecurityDescriptor: { value: number }, DesiredAccess: number): NTSTATUS;
  FltFreeSecurityDescriptor(SecurityDescriptor: number): void;
  /** Writes the server port on success only. */
  FltCreateCommunicationPort(Filter: number, ServerPort: { value: number }, Port: FltPortInput): NTSTATUS;
  FltCloseCommunicationPort(ServerPort: number): void;
  /** `ClientPort` is the driver's variable: read, then set to NULL ([DOC] fltkernel/nf-fltkernel-fltcloseclientport). */
  FltCloseClientPort(Filter: number, ClientPort: { value: number }): void;
  /**
   * Sends SenderBufferLength bytes to the connection's user-mode service; with a ReplyBuffer, waits for its reply and
   * sets ReplyLength to the bytes it wrote. `ClientPort` is the driver's variable, read once.
   */
  FltSendMessage(Filter: number, ClientPort: number, SenderBuffer: number, SenderBufferLength: number, ReplyBuffer: number, ReplyLength: { value: number } | null,
    Timeout: bigint | null): NTSTATUS;
  /** A context of a registered type, with one reference (PoolType: NonPagedPool 0 or PagedPool 1). */
  FltAllocateContext(Filter: number, ContextType: number, ContextSize: number, PoolType: number, ReturnedContext: { value: number }): NTSTATUS;
  FltReferenceContext(Context: number): void;
  FltReleaseContext(Context: number): void;
  FltDeleteContext(Context: number): void;
  /** OldContext: null when the caller passed NULL. */
  FltSetStreamContext(Instance: number, FileObject: number, Operation: number, NewContext: number, OldContext: { value: number } | null): NTSTATUS;
  FltGetStreamContext(Instance: number, FileObject: number, Context: { value: number }): NTSTATUS;
  FltSetStreamHandleContext(Instance: number, FileObject: number, Operation: number, NewContext: number, OldContext: { value: number } | null): NTSTATUS;
  FltGetStreamHandleContext(Instance: number, FileObject: number, Context: { value: number }): NTSTATUS;
  /** A work item from nonpaged pool (NULL when it is short); FltFreeDeferredIoWorkItem frees it. */
  FltAllocateDeferredIoWorkItem(): number;
  FltFreeDeferredIoWorkItem(FltWorkItem: number): void;
  FltQueueDeferredIoWorkItem(FltWorkItem: number, Data: number, WorkerRoutine: FltDeferredIoWorkItemRoutine, QueueType: number, Context: number): NTSTATUS;
  /** Resumes an operation a pre-operation pended, as if it had returned CallbackStatus (and Context as its completion context). */
  FltCompletePendedPreOperation(CallbackData: number, CallbackStatus: number, Context: number): void;
  /** Resumes the completion of an operation a post-operation pended (it returned FLT_POSTOP_MORE_PROCESSING_REQUIRED). */
  FltCompletePendedPostOperation(CallbackData: number): void;
}

/** The layouts, per pointer size (fltKernel.h; the shim's _Static_asserts hold the same numbers). */
export function fltLayouts(ps: 4 | 8): {
  readonly data: { readonly Flags: 0; readonly Thread: number; readonly Iopb: number; readonly Status: number; readonly Information: number; readonly RequestorMode: number; readonly size: number };
  readonly iopb: {
    readonly IrpFlags: 0; readonly MajorFunction: 4; readonly MinorFunction: 5; readonly TargetFileObject: 8; readonly TargetInstance: number; readonly Parameters: number; readonly size: number;
  };
  /** FLT_PARAMETERS members, from Parameters. */
  readonly params: {
    readonly createOptions: number; readonly createFileAttributes: number; readonly createShareAccess: number;
    readonly length: 0; readonly byteOffset: number; readonly buffer: number;
    readonly infoClass: number; readonly parentOfTarget: number; readonly replaceOrDelete: number; readonly infoBuffer: number;
  };
  readonly objects: { readonly Size: 0; readonly Filter: number; readonly Volume: number; readonly Instance: number; readonly FileObject: number; readonly size: number };
  readonly name: {
    readonly Size: 0; readonly NamesParsed: 2; readonly Format: 4; readonly Name: 8; readonly Volume: number; readonly Share: number; readonly Extension: number;
    readonly Stream: number; readonly FinalComponent: number; readonly ParentDir: number; readonly size: number;
  };
  /** FILE_RENAME_INFORMATION. */
  readonly rename: { readonly FileNameLength: number; readonly FileName: number };
} {
  return ps === 4
    ? {
      data: { Flags: 0, Thread: 4, Iopb: 8, Status: 0xc, Information: 0x10, RequestorMode: 0x28, size: 0x2c },
      iopb: { IrpFlags: 0, MajorFunction: 4, MinorFunction: 5, TargetFileObject: 8, TargetInstance: 0xc, Parameters: 0x10, size: 0x30 },
      params: { createOptions: 4, createFileAttributes: 8, createShareAccess: 0xa, length: 0, byteOffset: 8, buffer: 0x10, infoClass: 4, parentOfTarget: 8, replaceOrDelete: 0xc, infoBuffer: 0x10 },
      objects: { Size: 0, Filter: 4, Volume: 8, Instance: 0xc, FileObject: 0x10, size: 0x18 },
      name: { Size: 0, NamesParsed: 2, Format: 4, Name: 8, Volume: 0x10, Share: 0x18, Extension: 0x20, Stream: 0x28, FinalComponent: 0x30, ParentDir: 0x38, size: 0x40 },
      rename: { FileNameLength: 8, FileName: 0xc },
    }
    : {
      data: { Flags: 0, Thread: 8, Iopb: 0x10, Status: 0x18, Information: 0x20, RequestorMode: 0x50, size: 0x58 },
      iopb: { IrpFlags: 0, MajorFunction: 4, MinorFunction: 5, TargetFileObject: 8, TargetInstance: 0x10, Parameters: 0x18, size: 0x48 },
      params: { createOptions: 8, createFileAttributes: 0x10, createShareAccess: 0x12, length: 0, byteOffset: 0x10, buffer: 0x18, infoClass: 8, parentOfTarget: 0x10, replaceOrDelete: 0x18, infoBuffer: 0x20 },
      objects: { Size: 0, Filter: 8, Volume: 0x10, Instance: 0x18, FileObject: 0x20, size: 0x30 },
      name: { Size: 0, NamesParsed: 2, Format: 4, Name: 8, Volume: 0x18, Share: 0x28, Extension: 0x38, Stream: 0x48, FinalComponent: 0x58, ParentDir: 0x68, size: 0x78 },
      rename: { FileNameLength: 0x10, FileName: 0x14 },
    };
}
