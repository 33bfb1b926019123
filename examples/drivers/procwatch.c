/*
 * procwatch.c: a process watcher written the Vista-and-later way, against the real WDK headers.
 *
 *  - PsSetCreateProcessNotifyRoutineEx: the creation callback gets PS_CREATE_NOTIFY_INFO (parent, creating
 *    thread, full image name); exits come with CreateInfo == NULL.
 *  - Every live process it saw start is tracked in a doubly linked list of pool-allocated records, guarded by a
 *    FAST_MUTEX; a thread routine counts threads per record.
 *  - Image loads are logged with the path in pieces small enough for DbgPrint.
 *  - DriverUnload removes the routines first, then frees every record, then deletes link and device;
 *    DriverEntry undoes what it did when a step fails — records included: a routine, once registered, can run
 *    on another CPU before DriverEntry returns.
 */
#include <ntddk.h>

#define PW_TAG 'hcWP'
#define PATH_CHUNK 200

typedef struct _PW_PROCESS {
    LIST_ENTRY Link;
    HANDLE ProcessId;
    HANDLE ParentId;
    ULONG Threads;
    UNICODE_STRING Image;
    WCHAR Buffer[1];
} PW_PROCESS, *PPW_PROCESS;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ProcWatchUnload;

static LIST_ENTRY gProcesses;
static FAST_MUTEX gLock;
static ULONG gTracked;
static PDEVICE_OBJECT gDevice;
static UNICODE_STRING gDeviceName = RTL_CONSTANT_STRING(L"\\Device\\ProcWatch");
static UNICODE_STRING gLinkName = RTL_CONSTANT_STRING(L"\\DosDevices\\ProcWatch");

/* Caller holds gLock. */
static PPW_PROCESS FindProcess(HANDLE ProcessId)
{
    PLIST_ENTRY entry;

    for (entry = gProcesses.Flink; entry != &gProcesses; entry = entry->Flink) {
        PPW_PROCESS p = CONTAINING_RECORD(entry, PW_PROCESS, Link);
        if (p->ProcessId == ProcessId)
            return p;
    }
    return NULL;
}

static VOID OnProcess(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo)
{
    PPW_PROCESS record, stale;
    USHORT bytes;

    UNREFERENCED_PARAMETER(Process);
    if (CreateInfo == NULL) {
        ExAcquireFastMutex(&gLock);
        record = FindProcess(ProcessId);
        if (record != NULL) {
            RemoveEntryList(&record->Link);
            gTracked--;
        }
        ExReleaseFastMutex(&gLock);
        DbgPrint("procwatch: exit pid=%Iu threads=%lu\n", (ULONG_PTR)ProcessId, record != NULL ? record->Threads : 0);
        if (record != NULL)
            ExFreePoolWithTag(record, PW_TAG);
        return;
    }

    bytes = CreateInfo->ImageFileName != NULL ? CreateInfo->ImageFileName->Length : 0;
    DbgPrint("procwatch: start pid=%Iu parent=%Iu creator=%Iu\n", (ULONG_PTR)ProcessId,
             (ULONG_PTR)CreateInfo->ParentProcessId, (ULONG_PTR)CreateInfo->CreatingThreadId.UniqueProcess);

    record = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(PW_PROCESS) + bytes, PW_TAG);
    if (record == NULL)
        return; /* not tracked: the start is logged all the same */
    record->ProcessId = ProcessId;
    record->ParentId = CreateInfo->ParentProcessId;
    record->Threads = 0;
    record->Image.Length = 0;
    record->Image.MaximumLength = bytes;
    record->Image.Buffer = record->Buffer;
    if (CreateInfo->ImageFileName != NULL)
        RtlCopyUnicodeString(&record->Image, CreateInfo->ImageFileName);

    ExAcquireFastMutex(&gLock);
    stale = FindProcess(ProcessId); /* a PID we missed the exit of: the new process owns it now */
    if (stale != NULL) {
        RemoveEntryList(&stale->Link);
        gTracked--;
    }
    InsertTailList(&gProcesses, &record->Link);
    gTracked++;
    ExReleaseFastMutex(&gLock);
    if (stale != NULL)
        ExFreePoolWithTag(stale, PW_TAG);
}

static VOID OnThread(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    PPW_PROCESS record;

    ExAcquireFastMutex(&gLock);
    record = FindProcess(ProcessId);
    if (record != NULL && Create)
        record->Threads++;
    ExReleaseFastMutex(&gLock);
    DbgPrint("procwatch: thread %s pid=%Iu tid=%Iu\n", Create ? "start" : "exit", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
}

static VOID OnImage(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    ULONG chars, at;

    DbgPrint("procwatch: image pid=%Iu base=%p size=%Iu\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize);
    if (FullImageName == NULL) {
        DbgPrint("procwatch:   (no name)\n");
        return;
    }
    chars = FullImageName->Length / sizeof(WCHAR);
    for (at = 0; at < chars; at += PATH_CHUNK)
        DbgPrint("procwatch:   %.*ws\n", (int)min(PATH_CHUNK, chars - at), FullImageName->Buffer + at);
}

/* Every record, once no routine can run any more. */
static VOID FreeRecords(VOID)
{
    ExAcquireFastMutex(&gLock);
    while (!IsListEmpty(&gProcesses)) {
        PPW_PROCESS record = CONTAINING_RECORD(RemoveHeadList(&gProcesses), PW_PROCESS, Link);
        ExFreePoolWithTag(record, PW_TAG);
    }
    gTracked = 0;
    ExReleaseFastMutex(&gLock);
}

static VOID ProcWatchUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    PsRemoveLoadImageNotifyRoutine(OnImage);
    PsRemoveCreateThreadNotifyRoutine(OnThread);
    PsSetCreateProcessNotifyRoutineEx(OnProcess, TRUE);
    FreeRecords();
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
}

/* Clients open and close the device; it has no other requests. */
static NTSTATUS ProcWatchDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (stack->MajorFunction == IRP_MJ_CREATE || stack->MajorFunction == IRP_MJ_CLOSE || stack->MajorFunction == IRP_MJ_CLEANUP)
        status = STATUS_SUCCESS;
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InitializeListHead(&gProcesses);
    ExInitializeFastMutex(&gLock);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = ProcWatchDispatch;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = ProcWatchDispatch;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = ProcWatchDispatch;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ProcWatchDispatch;
    status = IoCreateDevice(DriverObject, 0, &gDeviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &gDevice);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&gLinkName, &gDeviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(gDevice);
        return status;
    }
    status = PsSetCreateProcessNotifyRoutineEx(OnProcess, FALSE);
    if (!NT_SUCCESS(status))
        goto undo_link;
    status = PsSetCreateThreadNotifyRoutine(OnThread);
    if (!NT_SUCCESS(status))
        goto undo_process;
    status = PsSetLoadImageNotifyRoutine(OnImage);
    if (!NT_SUCCESS(status))
        goto undo_thread;

    DriverObject->DriverUnload = ProcWatchUnload;
    DbgPrint("procwatch: loaded\n");
    return STATUS_SUCCESS;

undo_thread:
    PsRemoveCreateThreadNotifyRoutine(OnThread);
undo_process:
    PsSetCreateProcessNotifyRoutineEx(OnProcess, TRUE);
    /* the routine may have run on another CPU before it was removed */
    FreeRecords();
undo_link:
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
    return status;
}
