/* psharness WDK shim: ntifs.h adds the routines the IFS kit declares on top of ntddk.h. */
#ifndef PSHARNESS_NTIFS_H
#define PSHARNESS_NTIFS_H
#include "ntddk.h"
NTKERNELAPI NTSTATUS PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process) KIMPORT(PsLookupProcessByProcessId);
NTKERNELAPI NTSTATUS PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread) KIMPORT(PsLookupThreadByThreadId);
NTKERNELAPI NTSTATUS PsLookupProcessThreadByCid(PCLIENT_ID Cid, PEPROCESS *Process, PETHREAD *Thread) KIMPORT(PsLookupProcessThreadByCid);
NTKERNELAPI ULONG PsGetProcessSessionId(PEPROCESS Process) KIMPORT(PsGetProcessSessionId);
NTKERNELAPI NTSTATUS ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
    POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PHANDLE Handle) KIMPORT(ObOpenObjectByPointer);

/* ---- object callbacks (wdm.h): pre- and post-operation routines on process and thread handles */
typedef ULONG OB_OPERATION;
#define OB_OPERATION_HANDLE_CREATE 0x00000001
#define OB_OPERATION_HANDLE_DUPLICATE 0x00000002
#define OB_FLT_REGISTRATION_VERSION 0x0100
typedef enum _OB_PREOP_CALLBACK_STATUS { OB_PREOP_SUCCESS = 0 } OB_PREOP_CALLBACK_STATUS;
typedef struct _OB_PRE_CREATE_HANDLE_INFORMATION { ACCESS_MASK DesiredAccess; ACCESS_MASK OriginalDesiredAccess; } OB_PRE_CREATE_HANDLE_INFORMATION, *POB_PRE_CREATE_HANDLE_INFORMATION;
typedef struct _OB_PRE_DUPLICATE_HANDLE_INFORMATION { ACCESS_MASK DesiredAccess; ACCESS_MASK OriginalDesiredAccess; PVOID SourceProcess; PVOID TargetProcess; } OB_PRE_DUPLICATE_HANDLE_INFORMATION, *POB_PRE_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_PRE_OPERATION_PARAMETERS { OB_PRE_CREATE_HANDLE_INFORMATION CreateHandleInformation; OB_PRE_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation; } OB_PRE_OPERATION_PARAMETERS, *POB_PRE_OPERATION_PARAMETERS;
typedef struct _OB_PRE_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    POB_PRE_OPERATION_PARAMETERS Parameters;
} OB_PRE_OPERATION_INFORMATION, *POB_PRE_OPERATION_INFORMATION;
_Static_assert(sizeof(OB_PRE_OPERATION_INFORMATION) == PSH_X64(0x28, 0x18), "OB_PRE_OPERATION_INFORMATION size");
typedef struct _OB_POST_CREATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_CREATE_HANDLE_INFORMATION;
typedef struct _OB_POST_DUPLICATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_POST_OPERATION_PARAMETERS { OB_POST_CREATE_HANDLE_INFORMATION CreateHandleInformation; OB_POST_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation; } OB_POST_OPERATION_PARAMETERS, *POB_POST_OPERATION_PARAMETERS;
typedef struct _OB_POST_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    NTSTATUS ReturnStatus;
    POB_POST_OPERATION_PARAMETERS Parameters;
} OB_POST_OPERATION_INFORMATION, *POB_POST_OPERATION_INFORMATION;
_Static_assert(sizeof(OB_POST_OPERATION_INFORMATION) == PSH_X64(0x30, 0x1C), "OB_POST_OPERATION_INFORMATION size");
typedef OB_PREOP_CALLBACK_STATUS (*POB_PRE_OPERATION_CALLBACK)(PVOID RegistrationContext, POB_PRE_OPERATION_INFORMATION OperationInformation);
typedef VOID (*POB_POST_OPERATION_CALLBACK)(PVOID RegistrationContext, POB_POST_OPERATION_INFORMATION OperationInformation);
typedef struct _OB_OPERATION_REGISTRATION {
    POBJECT_TYPE *ObjectType;
    OB_OPERATION Operations;
    POB_PRE_OPERATION_CALLBACK PreOperation;
    POB_POST_OPERATION_CALLBACK PostOperation;
} OB_OPERATION_REGISTRATION, *POB_OPERATION_REGISTRATION;
typedef struct _OB_CALLBACK_REGISTRATION {
    USHORT Version;
    USHORT OperationRegistrationCount;
    UNICODE_STRING Altitude;
    PVOID RegistrationContext;
    OB_OPERATION_REGISTRATION *OperationRegistration;
} OB_CALLBACK_REGISTRATION, *POB_CALLBACK_REGISTRATION;
_Static_assert(sizeof(OB_CALLBACK_REGISTRATION) == PSH_X64(0x28, 0x14), "OB_CALLBACK_REGISTRATION size");
#define STATUS_FLT_INSTANCE_ALTITUDE_COLLISION ((NTSTATUS)0xC01C0011L)
NTKERNELAPI NTSTATUS ObRegisterCallbacks(POB_CALLBACK_REGISTRATION CallbackRegistration, PVOID *RegistrationHandle) KIMPORT(ObRegisterCallbacks);
NTKERNELAPI VOID ObUnRegisterCallbacks(PVOID RegistrationHandle) KIMPORT(ObUnRegisterCallbacks);
NTKERNELAPI USHORT ObGetFilterVersion(VOID) KIMPORT(ObGetFilterVersion);
#define PROCESS_TERMINATE 0x0001
#define PROCESS_VM_OPERATION 0x0008
#define PROCESS_VM_READ 0x0010
#define PROCESS_VM_WRITE 0x0020
#define PROCESS_QUERY_INFORMATION 0x0400

typedef enum _PROCESSINFOCLASS { ProcessBasicInformation = 0, ProcessImageFileName = 27 } PROCESSINFOCLASS;
typedef LONG KPRIORITY;
typedef struct _PROCESS_BASIC_INFORMATION {
    NTSTATUS ExitStatus;
    PPEB PebBaseAddress;
    ULONG_PTR AffinityMask;
    KPRIORITY BasePriority;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR InheritedFromUniqueProcessId;
} PROCESS_BASIC_INFORMATION, *PPROCESS_BASIC_INFORMATION;
_Static_assert(sizeof(PROCESS_BASIC_INFORMATION) == PSH_X64(48, 24), "PROCESS_BASIC_INFORMATION size");
NTSYSAPI NTSTATUS ZwQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass, PVOID ProcessInformation,
    ULONG ProcessInformationLength, PULONG ReturnLength) KIMPORT(ZwQueryInformationProcess);

/* Exported but undocumented, so not declared by the WDK: a driver declares PsGetProcessImageFileName,
   PsGetProcessInheritedFromUniqueProcessId, PsGetProcessPeb and PsIsProtectedProcess itself, as it would for
   Windows (the kernel serves them by name). */
#endif
