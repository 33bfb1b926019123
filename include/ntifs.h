/* psharness WDK shim: ntifs.h adds the routines the IFS kit declares on top of ntddk.h. */
#ifndef PSHARNESS_NTIFS_H
#define PSHARNESS_NTIFS_H
#include "ntddk.h"
PSH_EXTERN_C_BEGIN
NTKERNELAPI NTSTATUS PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process) KIMPORT(PsLookupProcessByProcessId);
NTKERNELAPI NTSTATUS PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread) KIMPORT(PsLookupThreadByThreadId);
NTKERNELAPI NTSTATUS PsLookupProcessThreadByCid(PCLIENT_ID Cid, PEPROCESS *Process, PETHREAD *Thread) KIMPORT(PsLookupProcessThreadByCid);
NTKERNELAPI ULONG PsGetProcessSessionId(PEPROCESS Process) KIMPORT(PsGetProcessSessionId);
NTKERNELAPI NTSTATUS ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
    POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PHANDLE Handle) KIMPORT(ObOpenObjectByPointer);


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
PSH_EXTERN_C_END
#endif
