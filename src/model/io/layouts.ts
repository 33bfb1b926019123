/**
 * The I/O manager's structures as a driver sees them, per pointer size (wdm.h; the shim's _Static_asserts check the
 * same offsets against what clang lays out), and the parts of an I/O control code (CTL_CODE).
 */
export const IRP_MJ_CREATE = 0x00;
export const IRP_MJ_CLOSE = 0x02;
export const IRP_MJ_READ = 0x03;
export const IRP_MJ_DEVICE_CONTROL = 0x0e;
export const IRP_MJ_CLEANUP = 0x12;
export const IRP_MJ_WRITE = 0x04;
export const IRP_MJ_MAXIMUM_FUNCTION = 0x1b;
/** The requests scenarios send to a driver's device, by WDK name. */
export const IRP_MAJOR: Readonly<Record<string, number>> = {
  IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_READ, IRP_MJ_DEVICE_CONTROL, IRP_MJ_CLEANUP,
};

/** IRP field offsets for the build's pointer size (x86 size 0x70, x64 0xD0; wdm.h). */
export interface IrpLayout {
  readonly Flags: number;
  /** AssociatedIrp.SystemBuffer */
  readonly SystemBuffer: number;
  readonly IoStatus: number;
  readonly Information: number;
  readonly RequestorMode: number;
  readonly Cancel: number;
  readonly CancelIrql: number;
  readonly CancelRoutine: number;
  readonly UserBuffer: number;
  /** Tail.Overlay.DriverContext[4] */
  readonly DriverContext: number;
  readonly Thread: number;
  /** Tail.Overlay.ListEntry: the driver's to queue the IRP with while it owns it. */
  readonly ListEntry: number;
  readonly CurrentStackLocation: number;
  readonly OriginalFileObject: number;
  readonly size: number;
}

/** IO_STACK_LOCATION field offsets (x86 size 0x24, x64 0x48; wdm.h). Parameters.Read.Length is OutputBufferLength's. */
export interface IoStackLocationLayout {
  readonly MajorFunction: number;
  readonly Control: number;
  readonly OutputBufferLength: number;
  readonly InputBufferLength: number;
  readonly IoControlCode: number;
  readonly Type3InputBuffer: number;
  readonly DeviceObject: number;
  readonly FileObject: number;
  readonly size: number;
}
export const FILE_DEVICE_UNKNOWN = 0x22;


export function irpLayout(ps: 4 | 8): IrpLayout {
  return ps === 4
    ? {
      Flags: 0x08, SystemBuffer: 0x0c, IoStatus: 0x18, Information: 0x1c, RequestorMode: 0x20, Cancel: 0x24, CancelIrql: 0x25,
      CancelRoutine: 0x38, UserBuffer: 0x3c, DriverContext: 0x40, Thread: 0x50, ListEntry: 0x58, CurrentStackLocation: 0x60,
      OriginalFileObject: 0x64, size: 0x70,
    }
    : {
      Flags: 0x10, SystemBuffer: 0x18, IoStatus: 0x30, Information: 0x38, RequestorMode: 0x40, Cancel: 0x44, CancelIrql: 0x45,
      CancelRoutine: 0x68, UserBuffer: 0x70, DriverContext: 0x78, Thread: 0x98, ListEntry: 0xa8, CurrentStackLocation: 0xb8,
      OriginalFileObject: 0xc0, size: 0xd0,
    };
}

export function ioStackLocationLayout(ps: 4 | 8): IoStackLocationLayout {
  return ps === 4
    ? { MajorFunction: 0, Control: 3, OutputBufferLength: 0x04, InputBufferLength: 0x08, IoControlCode: 0x0c, Type3InputBuffer: 0x10, DeviceObject: 0x14, FileObject: 0x18, size: 0x24 }
    : { MajorFunction: 0, Control: 3, OutputBufferLength: 0x08, InputBufferLength: 0x10, IoControlCode: 0x18, Type3InputBuffer: 0x20, DeviceObject: 0x28, FileObject: 0x30, size: 0x48 };
}

/** FILE_OBJECT: DeviceObject and the driver's per-open FsContext/FsContext2 (x86 size 0x80, x64 0xD8). */
export interface FileObjectLayout {
  readonly DeviceObject: number;
  readonly FsContext: number;
  readonly FsContext2: number;
  readonly size: number;
}

export function fileObjectLayout(ps: 4 | 8): FileObjectLayout {
  return ps === 4 ? { DeviceObject: 0x04, FsContext: 0x0c, FsContext2: 0x10, size: 0x80 } : { DeviceObject: 0x08, FsContext: 0x18, FsContext2: 0x20, size: 0xd8 };
}

/** DEVICE_OBJECT.Flags (x86 0x1C, x64 0x30) and the buffering flags a driver sets in it (wdm.h). */
export const DEVICE_OBJECT_FLAGS = { 4: 0x1c, 8: 0x30 } as const;
export const DO_BUFFERED_IO = 0x04;
export const DO_DIRECT_IO = 0x10;
/** IO_STACK_LOCATION.Control: set by IoMarkIrpPending. */
export const SL_PENDING_RETURNED = 0x01;
/** IRP.Flags: the I/O manager copies the system buffer back to the caller at completion (METHOD_BUFFERED, buffered reads). */
export const IRP_BUFFERED_IO = 0x10;
export const IRP_INPUT_OPERATION = 0x40;

export type TransferMethod = 'METHOD_BUFFERED' | 'METHOD_IN_DIRECT' | 'METHOD_OUT_DIRECT' | 'METHOD_NEITHER';
const METHODS: readonly TransferMethod[] = ['METHOD_BUFFERED', 'METHOD_IN_DIRECT', 'METHOD_OUT_DIRECT', 'METHOD_NEITHER'];

/** CTL_CODE(DeviceType, Function, Method, Access) taken apart ([DOC] Defining I/O Control Codes). */
export function ioctlMethod(code: number): TransferMethod {
  return METHODS[code & 3];
}

export function ctlCode(deviceType: number, fn: number, method: number, access: number): number {
  return ((deviceType << 16) | (access << 14) | (fn << 2) | method) >>> 0;
}
