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
 *  - It also opens a communication port, \\BurstwatchPort, for its user-mode service (one connection): the burst is
 *    sent to the service with FltSendMessage (at PASSIVE_LEVEL, from the same routine) when one is connected;
 *    DisconnectNotify closes the service's end with FltCloseClientPort.
 *  - FilterUnloadCallback closes the port, unregisters the filter, then frees the table.
 *
 * Broken twins (-DBURSTWATCH_BROKEN=n): 1 never releases the name information; 2 takes the name directly in
 * PostWrite, at DISPATCH_LEVEL; 3 allocates the table from PagedPool, which PostWrite touches at DISPATCH_LEVEL;
 * 4 forgets FltUnregisterFilter in its FilterUnloadCallback; 5 forgets FltCloseCommunicationPort before it (the
 * unload hangs); 6 sends the burst to the service from PostWrite, at DISPATCH_LEVEL.
 */
#include <fltKernel.h>

#define BURST_TAG 'tsrB'
#define BURST_THRESHOLD 3
#define MAX_WRITERS 64

typedef struct _WRITER {
    ULONG Pid;
    ULONG Writes;
} WRITER;

/* what the service gets: the process and the last file it wrote */
typedef struct _BURST_MESSAGE {
    ULONG Pid;
    ULONG Writes;
    WCHAR LastFile[32];
} BURST_MESSAGE;

static PFLT_FILTER gFilter;
static PFLT_PORT gServerPort;
static PFLT_PORT gClientPort;
static WRITER *gWriters;
static KSPIN_LOCK gLock;

/* the service's connection: one at a time (MaxConnections 1) */
static NTSTATUS PortConnect(PFLT_PORT ClientPort, PVOID ServerPortCookie, PVOID ConnectionContext, ULONG SizeOfContext, PVOID *ConnectionCookie)
{
    UNREFERENCED_PARAMETER(ServerPortCookie);
    UNREFERENCED_PARAMETER(ConnectionContext);
    UNREFERENCED_PARAMETER(SizeOfContext);
    UNREFERENCED_PARAMETER(ConnectionCookie);
    /* read by SendBurst on other CPUs: published atomically */
    InterlockedExchangePointer((PVOID volatile *)&gClientPort, ClientPort);
    return STATUS_SUCCESS;
}

static VOID PortDisconnect(PVOID ConnectionCookie)
{
    UNREFERENCED_PARAMETER(ConnectionCookie);
    FltCloseClientPort(gFilter, &gClientPort);
}

/* to the service, if one is connected: the filter manager synchronizes the send with a disconnect through &gClientPort */
static VOID SendBurst(ULONG pid, PCUNICODE_STRING last)
{
    BURST_MESSAGE message;
    LARGE_INTEGER timeout;
    USHORT n = 0;
    RtlZeroMemory(&message, sizeof(message));
    message.Pid = pid;
    message.Writes = BURST_THRESHOLD;
    if (last != NULL) {
        n = last->Length / sizeof(WCHAR);
        if (n > 31)
            n = 31;
        RtlCopyMemory(message.LastFile, last->Buffer, n * sizeof(WCHAR));
    }
    timeout.QuadPart = -10 * 1000 * 1000; /* one second */
    if (InterlockedCompareExchangePointer((PVOID volatile *)&gClientPort, NULL, NULL) != NULL)
        (VOID)FltSendMessage(gFilter, &gClientPort, &message, sizeof(message), NULL, NULL, &timeout);
}

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
    SendBurst((ULONG)(ULONG_PTR)CompletionContext, &name->FinalComponent);
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
#elif BURSTWATCH_BROKEN == 6
    SendBurst(pid, NULL);
    return FLT_POSTOP_FINISHED_PROCESSING;
#else
    if (!FltDoCompletionProcessingWhenSafe(Data, FltObjects, CompletionContext, Flags, ReportBurst, &status))
        return FLT_POSTOP_FINISHED_PROCESSING;
    return status;
#endif
}

static NTSTATUS FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
    UNREFERENCED_PARAMETER(Flags);
#if BURSTWATCH_BROKEN != 5
    FltCloseCommunicationPort(gServerPort);
#endif
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

/* the service's port: System and Administrators may connect (FltBuildDefaultSecurityDescriptor) */
static NTSTATUS CreatePort(VOID)
{
    NTSTATUS status;
    PSECURITY_DESCRIPTOR sd;
    OBJECT_ATTRIBUTES attributes;
    UNICODE_STRING name;

    status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
    if (!NT_SUCCESS(status))
        return status;
    RtlInitUnicodeString(&name, L"\\BurstwatchPort");
    InitializeObjectAttributes(&attributes, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, sd);
    status = FltCreateCommunicationPort(gFilter, &gServerPort, &attributes, NULL, PortConnect, PortDisconnect, NULL, 1);
    FltFreeSecurityDescriptor(sd);
    return status;
}

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
    status = CreatePort();
    if (!NT_SUCCESS(status)) {
        FltUnregisterFilter(gFilter);
        ExFreePoolWithTag(gWriters, BURST_TAG);
        return status;
    }
    status = FltStartFiltering(gFilter);
    if (!NT_SUCCESS(status)) {
        FltCloseCommunicationPort(gServerPort);
        FltUnregisterFilter(gFilter);
        ExFreePoolWithTag(gWriters, BURST_TAG);
        return status;
    }
    return STATUS_SUCCESS;
}
