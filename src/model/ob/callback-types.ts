/**
 * Object callbacks (ObRegisterCallbacks): pre- and post-operation routines on process and thread handle opens and
 * duplications, the companion of process notify routines in every EDR and anti-cheat driver ([DOC]
 * wdm/nf-wdm-obregistercallbacks.md, OB_CALLBACK_REGISTRATION, OB_OPERATION_REGISTRATION,
 * OB_PRE_OPERATION_INFORMATION, OB_POST_OPERATION_INFORMATION).
 */
import type { NTSTATUS } from '../status.js';

/** OB_FLT_REGISTRATION_VERSION (ObGetFilterVersion). */
export const OB_FLT_REGISTRATION_VERSION = 0x0100;
export const OB_OPERATION_HANDLE_CREATE = 0x1;
export const OB_OPERATION_HANDLE_DUPLICATE = 0x2;
export const OB_PREOP_SUCCESS = 0;

/** A pre-operation routine: (RegistrationContext, OB_PRE_OPERATION_INFORMATION *) → OB_PREOP_CALLBACK_STATUS. */
export type PobPreOperationCallback = (RegistrationContext: number, OperationInformation: number) => number;
/** A post-operation routine: (RegistrationContext, OB_POST_OPERATION_INFORMATION *). */
export type PobPostOperationCallback = (RegistrationContext: number, OperationInformation: number) => void;

/** OB_OPERATION_REGISTRATION, with the object type as the OBJECT_TYPE address `*PsProcessType` reads. */
export interface ObOperationRegistration {
  readonly ObjectType: number;
  readonly Operations: number;
  readonly PreOperation: PobPreOperationCallback | null;
  readonly PostOperation: PobPostOperationCallback | null;
}

/** OB_CALLBACK_REGISTRATION as the kernel reads it. */
export interface ObCallbackRegistration {
  readonly Version: number;
  readonly Altitude: string;
  readonly RegistrationContext: number;
  readonly OperationRegistration: readonly ObOperationRegistration[];
}

/** A live registration: what ObRegisterCallbacks returned a handle for. */
export interface ObRegistration {
  readonly handle: number;
  readonly owner: string;
  readonly altitude: string;
  readonly context: number;
  readonly operations: readonly { readonly type: 'process' | 'thread'; readonly ops: number; readonly pre: PobPreOperationCallback | null; readonly post: PobPostOperationCallback | null }[];
}

export interface ObCallbackRoutines {
  /** Writes the registration handle only on success ([DOC] statuses: ACCESS_DENIED, FLT_INSTANCE_ALTITUDE_COLLISION, INVALID_PARAMETER, INSUFFICIENT_RESOURCES). */
  ObRegisterCallbacks(CallbackRegistration: ObCallbackRegistration, RegistrationHandle: { value: number }): NTSTATUS;
  ObUnRegisterCallbacks(RegistrationHandle: number): void;
  ObGetFilterVersion(): number;
}

/** OB_PRE_OPERATION_INFORMATION / OB_POST_OPERATION_INFORMATION and their parameters, per pointer size. */
export function obInformationLayout(ps: 4 | 8): {
  readonly Operation: 0; readonly Flags: 4; readonly Object: 8; readonly ObjectType: number; readonly CallContext: number;
  readonly PreParameters: number; readonly PostReturnStatus: number; readonly PostParameters: number; readonly size: number;
  /** OB_PRE_CREATE/DUPLICATE_HANDLE_INFORMATION: DesiredAccess, OriginalDesiredAccess, SourceProcess, TargetProcess. */
  readonly parametersSize: number;
} {
  return ps === 4
    ? { Operation: 0, Flags: 4, Object: 8, ObjectType: 0x0c, CallContext: 0x10, PreParameters: 0x14, PostReturnStatus: 0x14, PostParameters: 0x18, size: 0x1c, parametersSize: 0x10 }
    : { Operation: 0, Flags: 4, Object: 8, ObjectType: 0x10, CallContext: 0x18, PreParameters: 0x20, PostReturnStatus: 0x20, PostParameters: 0x28, size: 0x30, parametersSize: 0x18 };
}
