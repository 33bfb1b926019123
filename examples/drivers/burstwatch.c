/*
 * burstwatch.c: a file-system minifilter that reports a process writing many files quickly, the way ransomware
 * detectors do (Windows Vista and later, x86 and x64).
 *
 *  - DriverEntry allocates a table of writers (process ID, writes) from NonPagedPool, registers a minifilter with
 *    FltRegisterFilter (pre- and post-write) and starts filtering.
 *  - PreWrite takes the requesting process's ID (FltGetRequestorProcessId) into the completion context.
 *  - PostWrite counts the process's successful writes under a spin lock; at the third it reports the burst. It may
 *    run at DISPATCH_LEVEL, so the file's name (FltGetFileNameInformation: IRQL <= APC_LEVEL) is taken in a routine
 *    FltDoCompletionProcessingWhenSafe runs at PASSIVE_LEVEL, which parses it, prints it and releases it.
 *  - FilterUnloadCallback unregisters the filter, then frees the table.
 *
 * Broken twins (-DBURSTWATCH_BROKEN=n): 1 never releases the name information; 2 takes the name directly in
 * PostWrite, at DISPATCH_LEVEL; 3 allocates the table from PagedPool, which PostWrite touches at DISPATCH_LEVEL;
 * 4 forgets FltUnregisterFilter in its FilterUnloadCallback.
 */
#include <fltKernel.h>

#define BURST_TAG 'tsrB'
#define BURST_THRESHOLD 3
#define MAX_WRITERS 64

typedef struct _WRITER {
    ULONG Pid;
    ULONG Writes;
} WRITER;

static PFLT_FILTER gFilter;
static WRITER *gWriters;
static KSPIN_LOCK gLock;

static FLT_PREOP_CALLBACK_STATUS PreWrite(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext)
{
    UNREFERENCED_PARAMETER(FltObjects);
    *CompletionContext = (PVOID)(ULONG_PTR)FltGetRequestorProcessId(Data);
    return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

/* at PASSIVE_LEVEL: the name of the file that made the burst */
static FLT_POSTOP_CALLBACK_STATUS ReportBurst(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
    FLT_POST_OPERATION_FLAGS Flags)
{
    PFLT_FILE_NAME_INFORMATION name = NULL;
    UNREFERENCED_PARAMETER(FltObjects);
    UNREFERENCED_PARAMETER(Flags);
    if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &name)))
        return FLT_POSTOP_FINISHED_PROCESSING;
    FltParseFileNameInformation(name);
    DbgPrint("burstwatch: burst pid=%lu writes=%u last=%wZ\n", (ULONG)(ULONG_PTR)CompletionContext, BURST_THRESHOLD, &name->FinalComponent);
#if BURSTWATCH_BROKEN != 1
    FltReleaseFileNameInformation(name);
#endif
    return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_POSTOP_CALLBACK_STATUS PostWrite(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
    FLT_POST_OPERATION_FLAGS Flags)
{
    FLT_POSTOP_CALLBACK_STATUS status = FLT_POSTOP_FINISHED_PROCESSING;
    ULONG pid = (ULONG)(ULONG_PTR)CompletionContext;
    ULONG writes = 0;
    ULONG i;
    KIRQL irql;

    if (!NT_SUCCESS(Data->IoStatus.Status) || (Flags & FLTFL_POST_OPERATION_DRAINING) != 0)
        return FLT_POSTOP_FINISHED_PROCESSING;
    KeAcquireSpinLock(&gLock, &irql);
    for (i = 0; i < MAX_WRITERS; i++) {
        if (gWriters[i].Pid == pid || gWriters[i].Pid == 0) {
            gWriters[i].Pid = pid;
            writes = ++gWriters[i].Writes;
            break;
        }
    }
    KeReleaseSpinLock(&gLock, irql);
    if (writes != BURST_THRESHOLD)
        return FLT_POSTOP_FINISHED_PROCESSING;
#if BURSTWATCH_BROKEN == 2
    return ReportBurst(Data, FltObjects, CompletionContext, Flags);
#else
    if (!FltDoCompletionProcessingWhenSafe(Data, FltObjects, CompletionContext, Flags, ReportBurst, &status))
        return FLT_POSTOP_FINISHED_PROCESSING;
    return status;
#endif
}

static NTSTATUS FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
    UNREFERENCED_PARAMETER(Flags);
#if BURSTWATCH_BROKEN != 4
    FltUnregisterFilter(gFilter);
#endif
    ExFreePoolWithTag(gWriters, BURST_TAG);
    return STATUS_SUCCESS;
}

static NTSTATUS InstanceSetup(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_SETUP_FLAGS Flags, DEVICE_TYPE VolumeDeviceType,
    FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
    UNREFERENCED_PARAMETER(FltObjects);
    UNREFERENCED_PARAMETER(Flags);
    UNREFERENCED_PARAMETER(VolumeFilesystemType);
    /* local disks only */
    return VolumeDeviceType == FILE_DEVICE_NETWORK_FILE_SYSTEM ? STATUS_FLT_DO_NOT_ATTACH : STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    { IRP_MJ_WRITE, 0, PreWrite, PostWrite },
    { IRP_MJ_OPERATION_END }
};

static const FLT_REGISTRATION FilterRegistration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, NULL, Callbacks, FilterUnload, InstanceSetup,
};

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);

#if BURSTWATCH_BROKEN == 3
    gWriters = (WRITER *)ExAllocatePoolWithTag(PagedPool, MAX_WRITERS * sizeof(WRITER), BURST_TAG);
#else
    gWriters = (WRITER *)ExAllocatePoolWithTag(NonPagedPool, MAX_WRITERS * sizeof(WRITER), BURST_TAG);
#endif
    if (gWriters == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(gWriters, MAX_WRITERS * sizeof(WRITER));
    KeInitializeSpinLock(&gLock);

    status = FltRegisterFilter(DriverObject, &FilterRegistration, &gFilter);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(gWriters, BURST_TAG);
        return status;
    }
    status = FltStartFiltering(gFilter);
    if (!NT_SUCCESS(status)) {
        FltUnregisterFilter(gFilter);
        ExFreePoolWithTag(gWriters, BURST_TAG);
        return status;
    }
    return STATUS_SUCCESS;
}
