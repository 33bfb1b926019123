/* multifile.h: what the three files of the multifile driver share. */
#pragma once
#include <ntddk.h>

#define MF_TAG 'eFlM'
#define IOCTL_MULTIFILE_GET_COUNTS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_SPECIAL_ACCESS)

typedef struct _MF_COUNTS {
    ULONG Processes;
    ULONG Images;
} MF_COUNTS, *PMF_COUNTS;

/* callbacks.c */
extern KGUARDED_MUTEX gCountsLock;
extern MF_COUNTS gCounts;
NTSTATUS MfRegisterCallbacks(VOID);
VOID MfUnregisterCallbacks(VOID);

/* ioctl.c */
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH MfCreateClose;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH MfDeviceControl;
