/**
 * IRQLs and the highest IRQL each modelled DDI may be called at, from its WDK reference page ("IRQL" in the
 * Requirements table), with the Driver Verifier DDI-compliance rule that checks it where one exists (rule IDs:
 * the 0xC4 bug-check reference, Parameter 1 0x0002xxxx). A call above the limit is bug check 0xC4 with that
 * rule's ID; routines no named rule covers get DV's generic 0xC4/0xE5 "a call was made to a Kernel API at the
 * incorrect IRQL". Sources per row: docs/verifier.md.
 */
export const PASSIVE_LEVEL = 0;
export const APC_LEVEL = 1;
export const DISPATCH_LEVEL = 2;
export const HIGH_LEVEL = 31;

export const IRQL_NAMES: readonly string[] = ['PASSIVE_LEVEL', 'APC_LEVEL', 'DISPATCH_LEVEL'];

export function irqlName(irql: number): string {
  return IRQL_NAMES[irql] ?? `IRQL ${irql}`;
}

export interface IrqlRule {
  /** Highest IRQL the routine may be called at. */
  readonly max: number;
  /** The DDI-compliance rule: [Parameter 1 of bug check 0xC4, rule name]. */
  readonly rule?: readonly [number, string];
}

const IrqlPsPassive = [0x0002001c, 'IrqlPsPassive'] as const;
const IrqlExAllocatePool = [0x00020004, 'IrqlExAllocatePool'] as const;

/** The rule of each DDI the kernel models (routines absent here may be called at any IRQL up to HIGH_LEVEL). */
export const DDI_IRQL: Readonly<Record<string, IrqlRule>> = {
  PsSetCreateProcessNotifyRoutine: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetCreateProcessNotifyRoutineEx: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetCreateProcessNotifyRoutineEx2: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetCreateThreadNotifyRoutine: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetCreateThreadNotifyRoutineEx: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsRemoveCreateThreadNotifyRoutine: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetLoadImageNotifyRoutine: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsSetLoadImageNotifyRoutineEx: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsRemoveLoadImageNotifyRoutine: { max: PASSIVE_LEVEL, rule: IrqlPsPassive },
  PsLookupProcessByProcessId: { max: APC_LEVEL },
  PsLookupThreadByThreadId: { max: APC_LEVEL },
  PsGetProcessImageFileName: { max: DISPATCH_LEVEL },
  PsGetProcessId: { max: DISPATCH_LEVEL },
  ObReferenceObject: { max: DISPATCH_LEVEL },
  ObDereferenceObject: { max: DISPATCH_LEVEL },
  IoCreateDevice: { max: PASSIVE_LEVEL },
  IoDeleteDevice: { max: PASSIVE_LEVEL },
  IoCreateSymbolicLink: { max: PASSIVE_LEVEL },
  IoDeleteSymbolicLink: { max: PASSIVE_LEVEL },
  IoCompleteRequest: { max: DISPATCH_LEVEL },
  IoAcquireCancelSpinLock: { max: DISPATCH_LEVEL },
  IoReleaseCancelSpinLock: { max: DISPATCH_LEVEL },
  ExAllocatePoolWithTag: { max: DISPATCH_LEVEL, rule: IrqlExAllocatePool },
  ExAllocatePool2: { max: DISPATCH_LEVEL, rule: IrqlExAllocatePool },
  ExFreePoolWithTag: { max: DISPATCH_LEVEL },
  KeInitializeSpinLock: { max: HIGH_LEVEL },
  ExInitializeFastMutex: { max: DISPATCH_LEVEL },
  KeInitializeGuardedMutex: { max: DISPATCH_LEVEL },
  KeAcquireGuardedMutex: { max: APC_LEVEL },
  KeReleaseGuardedMutex: { max: APC_LEVEL },
  RtlInitUnicodeString: { max: DISPATCH_LEVEL },
  RtlCopyUnicodeString: { max: DISPATCH_LEVEL },
  RtlCompareUnicodeString: { max: PASSIVE_LEVEL },
  RtlEqualUnicodeString: { max: PASSIVE_LEVEL },
  RtlGetVersion: { max: PASSIVE_LEVEL },
  MmGetSystemRoutineAddress: { max: PASSIVE_LEVEL },
  KeRaiseIrql: { max: HIGH_LEVEL },
  KeLowerIrql: { max: HIGH_LEVEL },
  KeBugCheckEx: { max: HIGH_LEVEL },
  // the WDK surface monitors use (Requirements tables of each page; DV's generic 0xE5 where no rule is named)
  PsLookupProcessThreadByCid: { max: APC_LEVEL },
  SeLocateProcessImageName: { max: PASSIVE_LEVEL },
  ZwQueryInformationProcess: { max: PASSIVE_LEVEL },
  ObOpenObjectByPointer: { max: PASSIVE_LEVEL },
  ZwClose: { max: PASSIVE_LEVEL },
  ObReferenceObjectByPointer: { max: DISPATCH_LEVEL },
  RtlAnsiStringToUnicodeString: { max: PASSIVE_LEVEL },
  RtlUnicodeStringToAnsiString: { max: PASSIVE_LEVEL },
  RtlUpcaseUnicodeString: { max: PASSIVE_LEVEL },
  RtlFreeAnsiString: { max: PASSIVE_LEVEL },
  RtlFreeUnicodeString: { max: PASSIVE_LEVEL },
  RtlIntegerToUnicodeString: { max: PASSIVE_LEVEL },
  RtlUnicodeStringToInteger: { max: PASSIVE_LEVEL },
  RtlPrefixUnicodeString: { max: PASSIVE_LEVEL },
  RtlAppendUnicodeToString: { max: DISPATCH_LEVEL },
  RtlAppendUnicodeStringToString: { max: DISPATCH_LEVEL },
  RtlInitAnsiString: { max: DISPATCH_LEVEL },
  RtlInitString: { max: DISPATCH_LEVEL },
  RtlStringCbPrintfW: { max: PASSIVE_LEVEL },
  RtlStringCchPrintfW: { max: PASSIVE_LEVEL },
  KeWaitForSingleObject: { max: DISPATCH_LEVEL },
  KeDelayExecutionThread: { max: APC_LEVEL },
  KeSetEvent: { max: DISPATCH_LEVEL },
  KeResetEvent: { max: DISPATCH_LEVEL },
  KeClearEvent: { max: DISPATCH_LEVEL },
  KeEnterCriticalRegion: { max: APC_LEVEL },
  KeLeaveCriticalRegion: { max: APC_LEVEL },
  ExAllocatePoolWithQuotaTag: { max: APC_LEVEL },
  ExInitializeResourceLite: { max: DISPATCH_LEVEL },
  ExAcquireResourceExclusiveLite: { max: APC_LEVEL },
  ExAcquireResourceSharedLite: { max: APC_LEVEL },
  ExReleaseResourceLite: { max: DISPATCH_LEVEL },
  ExDeleteResourceLite: { max: DISPATCH_LEVEL },
  ExInitializeNPagedLookasideList: { max: DISPATCH_LEVEL },
  ExAllocateFromNPagedLookasideList: { max: DISPATCH_LEVEL },
  ExFreeToNPagedLookasideList: { max: DISPATCH_LEVEL },
  ExDeleteNPagedLookasideList: { max: DISPATCH_LEVEL },
  ExAcquirePushLockExclusiveEx: { max: APC_LEVEL },
  ExAcquirePushLockSharedEx: { max: APC_LEVEL },
  ExReleasePushLockExclusiveEx: { max: APC_LEVEL },
  ExReleasePushLockSharedEx: { max: APC_LEVEL },
  ExAcquireRundownProtection: { max: DISPATCH_LEVEL },
  ExReleaseRundownProtection: { max: DISPATCH_LEVEL },
  ExWaitForRundownProtectionRelease: { max: APC_LEVEL },
  KeAcquireSpinLockRaiseToDpc: { max: DISPATCH_LEVEL },
  KeAcquireInStackQueuedSpinLock: { max: DISPATCH_LEVEL },
  ProbeForRead: { max: APC_LEVEL },
  ObRegisterCallbacks: { max: PASSIVE_LEVEL },
  ObUnRegisterCallbacks: { max: PASSIVE_LEVEL },
  // [DOC] IRQL <= APC_LEVEL in each routine's Requirements
  CmRegisterCallbackEx: { max: APC_LEVEL },
  CmRegisterCallback: { max: APC_LEVEL },
  CmUnRegisterCallback: { max: APC_LEVEL },
  CmCallbackGetKeyObjectIDEx: { max: APC_LEVEL },
  CmCallbackReleaseKeyObjectIDEx: { max: APC_LEVEL },
  ProbeForWrite: { max: APC_LEVEL },
  // [DOC] the Flt routines' Requirements
  FltRegisterFilter: { max: PASSIVE_LEVEL },
  FltStartFiltering: { max: PASSIVE_LEVEL },
  FltUnregisterFilter: { max: APC_LEVEL },
  FltGetFileNameInformation: { max: APC_LEVEL },
  FltParseFileNameInformation: { max: APC_LEVEL },
  FltReleaseFileNameInformation: { max: APC_LEVEL },
  FltReferenceFileNameInformation: { max: APC_LEVEL },
  FltDoCompletionProcessingWhenSafe: { max: DISPATCH_LEVEL },
  FltBuildDefaultSecurityDescriptor: { max: APC_LEVEL },
  FltFreeSecurityDescriptor: { max: APC_LEVEL },
  FltCreateCommunicationPort: { max: PASSIVE_LEVEL },
  FltCloseCommunicationPort: { max: PASSIVE_LEVEL },
  FltCloseClientPort: { max: PASSIVE_LEVEL },
  FltSendMessage: { max: APC_LEVEL },
  // [DOC] contexts: allocate, set, get and delete at APC_LEVEL at most; reference and release up to DISPATCH_LEVEL
  // (the release of a paged context: APC_LEVEL, flt/context-ddis.ts)
  FltAllocateContext: { max: APC_LEVEL },
  FltSetStreamContext: { max: APC_LEVEL },
  FltGetStreamContext: { max: APC_LEVEL },
  FltSetStreamHandleContext: { max: APC_LEVEL },
  FltGetStreamHandleContext: { max: APC_LEVEL },
  FltDeleteContext: { max: APC_LEVEL },
  FltReferenceContext: { max: DISPATCH_LEVEL },
  FltReleaseContext: { max: DISPATCH_LEVEL },
  // [DOC] deferred I/O work items: DISPATCH_LEVEL at most; FltCompletePendedPreOperation: APC_LEVEL unless it completes
  FltAllocateDeferredIoWorkItem: { max: DISPATCH_LEVEL },
  FltFreeDeferredIoWorkItem: { max: DISPATCH_LEVEL },
  FltQueueDeferredIoWorkItem: { max: DISPATCH_LEVEL },
  FltCompletePendedPreOperation: { max: DISPATCH_LEVEL },
  FltCompletePendedPostOperation: { max: DISPATCH_LEVEL },
};
