/* psharness WDK shim: ntifs.h adds the routines the IFS kit declares on top of ntddk.h. */
#ifndef PSHARNESS_NTIFS_H
#define PSHARNESS_NTIFS_H
#include "ntddk.h"
NTKERNELAPI NTSTATUS PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process) KIMPORT(PsLookupProcessByProcessId);
NTKERNELAPI NTSTATUS PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread) KIMPORT(PsLookupThreadByThreadId);
#endif
