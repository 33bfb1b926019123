/*
 * proctable.c: a process table shared by notify routines running on several CPUs at once.
 *
 *  - Every live process it saw start has a pool-allocated record in a hash table guarded by a spin lock
 *    (gTableLock); thread routines count threads per record under the same lock.
 *  - Every event also goes into a bounded queue (gQueueLock), always taken after the table lock: one lock order. A
 *    full queue drops the event and counts it; each record the client gets carries the count.
 *  - A user-mode service reads the events through \\.\ProcTable: IOCTL_PROCTABLE_GET_EVENTS returns what is queued,
 *    or pends until an event comes (the "inverted call"); a pending request has a cancel routine, so the service's
 *    thread can exit, and IRP_MJ_CLEANUP completes the requests of a handle being closed. IOCTL_PROCTABLE_QUERY
 *    copies the process table out. The records are declared in proctable.psharness.json ("device").
 *  - Statistics are Interlocked counters, read without a lock.
 *  - The routines hold rundown protection while they run; DriverUnload removes the routines (which waits for
 *    calls still running on other CPUs), waits for the rundown, then frees the table.
 *
 * Built with -DPROCTABLE_BROKEN=n it is one of the racy drivers every monitoring driver has been at some point
 * (docs/concurrency.md; `npm run bench` kills each):
 *   1  no lock on one path: the thread-exit routine decrements the count without the table lock
 *   2  lock released too early: a new record is linked in, then filled in after the lock is released
 *   3  check-then-act on a PID: the thread routine looks the record up under the lock, releases it, and
 *      writes through the pointer later, when the process may have gone on another CPU
 *   4  lock-order inversion: the image routine takes the queue lock, then the table lock
 *   5  unload without waiting: DriverUnload frees the table before removing the routines
 *   6  the statistics counter incremented with a plain ++ instead of InterlockedIncrement
 *   7  a pending request gets no cancel routine: when the service's thread exits, nothing can cancel it, and the
 *      exit hangs (Windows waits five minutes) while the handle, and so the driver, stay held
 *   8  the completion path takes a pending request off the queue under the lock, and clears its cancel routine after
 *      releasing it, without looking at what IoSetCancelRoutine returned: when the service's thread exits on another
 *      CPU in between, the cancel routine completes the request too
 * Two more break what the service reads, not how the CPUs interleave (tests of device-events-delivered):
 *   9  a full queue drops the event without counting it
 *   10 the first event of each batch stays queued and is returned again
 */
#include <ntddk.h>

#ifndef PROCTABLE_BROKEN
#define PROCTABLE_BROKEN 0
#endif

#define PT_TAG 'lbTP'
#define BUCKETS 16
#ifndef QUEUE
#define QUEUE 64
#endif

/* The device interface (a header shared with the service, in a real product). */
#define IOCTL_PROCTABLE_GET_EVENTS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_PROCTABLE_QUERY      CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define PT_PROCESS_CREATE 1
#define PT_PROCESS_EXIT   2
#define PT_THREAD_CREATE  3
#define PT_THREAD_EXIT    4
#define PT_IMAGE_LOAD     5

/* One event as the service reads it: the same 32 bytes for 32- and 64-bit callers. */
typedef struct _PROCTABLE_EVENT {
    ULONG Kind;
    ULONG Dropped;      /* events dropped so far because the queue was full */
    ULONG64 ProcessId;
    ULONG64 ThreadId;   /* thread events */
    ULONG64 ParentId;   /* process starts */
} PROCTABLE_EVENT;

typedef struct _PROCTABLE_ENTRY {
    ULONG64 ProcessId;
    ULONG64 ParentId;
    ULONG Threads;
    ULONG Exited;
} PROCTABLE_ENTRY;

typedef struct _PT_PROCESS {
    struct _PT_PROCESS *Next;
    HANDLE ProcessId;
    HANDLE ParentId;
    ULONG Threads;      /* thread starts seen */
    ULONG Exited;       /* thread exits seen */
    ULONG Images;
    ULONG Siblings;
} PT_PROCESS, *PPT_PROCESS;


DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ProcTableUnload;

static PPT_PROCESS gBuckets[BUCKETS];
static KSPIN_LOCK gTableLock;
static PROCTABLE_EVENT gQueue[QUEUE];
static ULONG gHead, gCount, gDropped;
/* The services connected (one entry per open handle): events are queued only while one is, and never the
   services' own, which would feed back into the queue they read. */
#define MAX_CLIENTS 8
static HANDLE gClients[MAX_CLIENTS];
static ULONG gClientCount;
static LIST_ENTRY gPending;     /* IOCTL_PROCTABLE_GET_EVENTS requests waiting for an event */
static KSPIN_LOCK gQueueLock;
static PDEVICE_OBJECT gDevice;
static UNICODE_STRING gLinkName = RTL_CONSTANT_STRING(L"\\??\\ProcTable");
static EX_RUNDOWN_REF gRundown;
static volatile LONG gEvents;

static ULONG Bucket(HANDLE ProcessId)
{
    return (ULONG)(((ULONG_PTR)ProcessId >> 2) % BUCKETS);
}

/* Caller holds gTableLock. */
static PPT_PROCESS Find(HANDLE ProcessId)
{
    PPT_PROCESS p;

    for (p = gBuckets[Bucket(ProcessId)]; p != NULL; p = p->Next)
        if (p->ProcessId == ProcessId)
            return p;
    return NULL;
}

/* Caller holds gTableLock: the records with this parent (every field of every record is read). */
static ULONG CountChildren(HANDLE ParentId)
{
    ULONG b, n = 0;
    PPT_PROCESS p;

    for (b = 0; b < BUCKETS; b++)
        for (p = gBuckets[b]; p != NULL; p = p->Next)
            if (p->ParentId == ParentId && p->Threads + p->Images < 0x10000)
                n++;
    return n;
}

/* Caller holds gQueueLock. */
static VOID Push(ULONG Kind, HANDLE ProcessId, HANDLE ThreadId, HANDLE ParentId)
{
    PROCTABLE_EVENT *e;
    ULONG i;

    if (gClientCount == 0)
        return;
    for (i = 0; i < gClientCount; i++)
        if (gClients[i] == ProcessId)
            return;
    if (gCount == QUEUE) {
#if PROCTABLE_BROKEN != 9
        gDropped++;
#endif
        return;
    }
    e = &gQueue[(gHead + gCount) % QUEUE];
    e->Kind = Kind;
    e->Dropped = gDropped;
    e->ProcessId = (ULONG64)(ULONG_PTR)ProcessId;
    e->ThreadId = (ULONG64)(ULONG_PTR)ThreadId;
    e->ParentId = (ULONG64)(ULONG_PTR)ParentId;
    gCount++;
}

/* Caller holds gTableLock (the order is always table, then queue). */
static VOID Enqueue(ULONG Kind, HANDLE ProcessId, HANDLE ThreadId, HANDLE ParentId)
{
    KIRQL irql;

    KeAcquireSpinLock(&gQueueLock, &irql);
    Push(Kind, ProcessId, ThreadId, ParentId);
    KeReleaseSpinLock(&gQueueLock, irql);
}

/* Caller holds gQueueLock: moves as many queued events as fit into the request's buffer. */
static VOID FillEvents(PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PROCTABLE_EVENT *out = Irp->AssociatedIrp.SystemBuffer;
    ULONG room = sl->Parameters.DeviceIoControl.OutputBufferLength / sizeof(PROCTABLE_EVENT), n = 0;

    while (n < room && gCount > 0) {
        out[n++] = gQueue[gHead];
#if PROCTABLE_BROKEN == 10
        if (n == 1 && gCount > 1)
            continue; /* the first event stays queued: the next request returns it again */
#endif
        gHead = (gHead + 1) % QUEUE;
        gCount--;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = n * sizeof(PROCTABLE_EVENT);
}

/* Caller holds gQueueLock: a pending request this code may complete, off the queue, or NULL. */
static PIRP TakePending(PFILE_OBJECT FileObject)
{
    PLIST_ENTRY e;
    PIRP irp;

    for (e = gPending.Flink; e != &gPending; e = e->Flink) {
        irp = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (FileObject != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != FileObject)
            continue;
#if PROCTABLE_BROKEN == 8
        /* taken without looking at its cancel routine (the caller clears it later) */
        RemoveEntryList(e);
        return irp;
#else
        /* NULL: IoCancelIrp took the routine, which is about to run; it removes and completes the IRP itself */
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            RemoveEntryList(e);
            return irp;
        }
#endif
    }
    return NULL;
}

/* Called with no lock held: completes pending requests while events are queued. */
static VOID DeliverPending(VOID)
{
    KIRQL irql;
    PIRP irp;

    for (;;) {
        KeAcquireSpinLock(&gQueueLock, &irql);
        irp = gCount > 0 ? TakePending(NULL) : NULL;
#if PROCTABLE_BROKEN == 8
        KeReleaseSpinLock(&gQueueLock, irql);
        if (irp == NULL)
            return;
        /* too late, and what it returns is not looked at: IoCancelIrp may have taken the routine meanwhile */
        IoSetCancelRoutine(irp, NULL);
        KeAcquireSpinLock(&gQueueLock, &irql);
        FillEvents(irp);
#else
        if (irp != NULL)
            FillEvents(irp);
#endif
        KeReleaseSpinLock(&gQueueLock, irql);
        if (irp == NULL)
            return;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

static VOID CancelEvents(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KIRQL irql;

    UNREFERENCED_PARAMETER(DeviceObject);
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    KeAcquireSpinLock(&gQueueLock, &irql);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    KeReleaseSpinLock(&gQueueLock, irql);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID CountEvent(VOID)
{
#if PROCTABLE_BROKEN == 6
    gEvents++;
#else
    InterlockedIncrement(&gEvents);
#endif
}

static VOID OnProcess(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    PPT_PROCESS record, *link;
    KIRQL irql;
    ULONG threads = 0;

    if (!ExAcquireRundownProtection(&gRundown))
        return;
    CountEvent();
    if (Create) {
        record = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*record), PT_TAG);
        if (record != NULL) {
#if PROCTABLE_BROKEN != 2
            record->ProcessId = ProcessId;
            record->ParentId = ParentId;
            record->Threads = 0;
            record->Exited = 0;
            record->Images = 0;
#endif
            KeAcquireSpinLock(&gTableLock, &irql);
#if PROCTABLE_BROKEN == 2
            record->ProcessId = ProcessId;
#else
            record->Siblings = CountChildren(ParentId);
#endif
            record->Next = gBuckets[Bucket(ProcessId)];
            gBuckets[Bucket(ProcessId)] = record;
            Enqueue(PT_PROCESS_CREATE, ProcessId, NULL, ParentId);
            KeReleaseSpinLock(&gTableLock, irql);
#if PROCTABLE_BROKEN == 2
            /* filled in after it is visible to the other CPUs */
            record->ParentId = ParentId;
            record->Threads = 0;
            record->Exited = 0;
            record->Images = 0;
            KeAcquireSpinLock(&gTableLock, &irql);
            record->Siblings = CountChildren(ParentId);
            KeReleaseSpinLock(&gTableLock, irql);
#endif
        } else {
            KeAcquireSpinLock(&gTableLock, &irql);
            Enqueue(PT_PROCESS_CREATE, ProcessId, NULL, ParentId);
            KeReleaseSpinLock(&gTableLock, irql);
        }
        DbgPrint("proctable: start pid=%Iu parent=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
    } else {
        record = NULL;
        KeAcquireSpinLock(&gTableLock, &irql);
        for (link = &gBuckets[Bucket(ProcessId)]; *link != NULL; link = &(*link)->Next) {
            if ((*link)->ProcessId == ProcessId) {
                record = *link;
                *link = record->Next;
                threads = record->Threads;
                break;
            }
        }
        Enqueue(PT_PROCESS_EXIT, ProcessId, NULL, NULL);
        KeReleaseSpinLock(&gTableLock, irql);
        if (record != NULL)
            ExFreePoolWithTag(record, PT_TAG);
        DbgPrint("proctable: exit pid=%Iu threads=%lu\n", (ULONG_PTR)ProcessId, threads);
    }
    DeliverPending();
    ExReleaseRundownProtection(&gRundown);
}

static VOID OnThread(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    PPT_PROCESS record;
    KIRQL irql;

    if (!ExAcquireRundownProtection(&gRundown))
        return;
    CountEvent();
#if PROCTABLE_BROKEN == 1
    if (!Create) {
        /* no lock on this path */
        record = Find(ProcessId);
        if (record != NULL)
            record->Exited++;
        KeAcquireSpinLock(&gQueueLock, &irql);
        Push(PT_THREAD_EXIT, ProcessId, ThreadId, NULL);
        KeReleaseSpinLock(&gQueueLock, irql);
        DbgPrint("proctable: thread exit pid=%Iu tid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
        DeliverPending();
        ExReleaseRundownProtection(&gRundown);
        return;
    }
#endif
    KeAcquireSpinLock(&gTableLock, &irql);
    record = Find(ProcessId);
    Enqueue(Create ? PT_THREAD_CREATE : PT_THREAD_EXIT, ProcessId, ThreadId, NULL);
#if PROCTABLE_BROKEN == 3
    KeReleaseSpinLock(&gTableLock, irql);
    /* checked under the lock, used after it */
    if (record != NULL) {
        if (Create)
            record->Threads++;
        else
            record->Exited++;
    }
#else
    if (record != NULL) {
        if (Create)
            record->Threads++;
        else
            record->Exited++;
    }
    KeReleaseSpinLock(&gTableLock, irql);
#endif
    DbgPrint("proctable: thread %s pid=%Iu tid=%Iu\n", Create ? "start" : "exit", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
    DeliverPending();
    ExReleaseRundownProtection(&gRundown);
}

static VOID OnImage(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    PPT_PROCESS record;
    KIRQL irql, irql2;

    ULONG chars, at;

    if (!ExAcquireRundownProtection(&gRundown))
        return;
    DbgPrint("proctable: image pid=%Iu base=%p size=%Iu\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize);
    if (FullImageName == NULL) {
        DbgPrint("proctable:   (no name)\n");
    } else {
        chars = FullImageName->Length / sizeof(WCHAR);
        for (at = 0; at < chars; at += 200)
            DbgPrint("proctable:   %.*ws\n", (int)min(200, chars - at), FullImageName->Buffer + at);
    }
    if (ProcessId == NULL) {
        ExReleaseRundownProtection(&gRundown);
        return;
    }
    CountEvent();
#if PROCTABLE_BROKEN == 4
    /* the queue lock first: the other routines take the table lock first */
    KeAcquireSpinLock(&gQueueLock, &irql2);
    KeAcquireSpinLock(&gTableLock, &irql);
    record = Find(ProcessId);
    if (record != NULL)
        record->Images++;
    Push(PT_IMAGE_LOAD, ProcessId, NULL, NULL);
    KeReleaseSpinLock(&gTableLock, irql);
    KeReleaseSpinLock(&gQueueLock, irql2);
#else
    UNREFERENCED_PARAMETER(irql2);
    KeAcquireSpinLock(&gTableLock, &irql);
    record = Find(ProcessId);
    if (record != NULL)
        record->Images++;
    Enqueue(PT_IMAGE_LOAD, ProcessId, NULL, NULL);
    KeReleaseSpinLock(&gTableLock, irql);
#endif
    DeliverPending();
    ExReleaseRundownProtection(&gRundown);
}

static VOID FreeTable(VOID)
{
    ULONG b;
    PPT_PROCESS p, next;

    for (b = 0; b < BUCKETS; b++) {
        for (p = gBuckets[b]; p != NULL; p = next) {
            next = p->Next;
            ExFreePoolWithTag(p, PT_TAG);
        }
        gBuckets[b] = NULL;
    }
}

/* IOCTL_PROCTABLE_QUERY: a ULONG count, a ULONG of padding, then as many entries as fit. */
static NTSTATUS Query(PIRP Irp, ULONG Length)
{
    UCHAR *out = Irp->AssociatedIrp.SystemBuffer;
    PROCTABLE_ENTRY *entries = (PROCTABLE_ENTRY *)(out + 8);
    ULONG room, n = 0, total = 0, b;
    PPT_PROCESS p;
    KIRQL irql;

    if (Length < 8)
        return STATUS_BUFFER_TOO_SMALL;
    room = (Length - 8) / sizeof(PROCTABLE_ENTRY);
    KeAcquireSpinLock(&gTableLock, &irql);
    for (b = 0; b < BUCKETS; b++) {
        for (p = gBuckets[b]; p != NULL; p = p->Next, total++) {
            if (n == room)
                continue;
            entries[n].ProcessId = (ULONG64)(ULONG_PTR)p->ProcessId;
            entries[n].ParentId = (ULONG64)(ULONG_PTR)p->ParentId;
            entries[n].Threads = p->Threads;
            entries[n].Exited = p->Exited;
            n++;
        }
    }
    KeReleaseSpinLock(&gTableLock, irql);
    *(ULONG *)out = total;
    *(ULONG *)(out + 4) = 0;
    Irp->IoStatus.Information = 8 + n * sizeof(PROCTABLE_ENTRY);
    return n < total ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS Complete(PIRP Irp, NTSTATUS Status)
{
    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS DispatchControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG length = sl->Parameters.DeviceIoControl.OutputBufferLength;
    KIRQL irql;

    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Information = 0;
    switch (sl->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_PROCTABLE_QUERY:
        return Complete(Irp, Query(Irp, length));
    case IOCTL_PROCTABLE_GET_EVENTS:
        if (length < sizeof(PROCTABLE_EVENT))
            return Complete(Irp, STATUS_BUFFER_TOO_SMALL);
        KeAcquireSpinLock(&gQueueLock, &irql);
        if (gCount > 0) {
            FillEvents(Irp);
            KeReleaseSpinLock(&gQueueLock, irql);
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            return STATUS_SUCCESS;
        }
        /* nothing queued: the request waits for the next event */
        IoMarkIrpPending(Irp);
#if PROCTABLE_BROKEN != 7
        IoSetCancelRoutine(Irp, CancelEvents);
        if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
            /* cancelled before the routine was set, and IoCancelIrp did not call it: complete it here */
            KeReleaseSpinLock(&gQueueLock, irql);
            Complete(Irp, STATUS_CANCELLED);
            return STATUS_PENDING;
        }
#endif
        InsertTailList(&gPending, &Irp->Tail.Overlay.ListEntry);
        KeReleaseSpinLock(&gQueueLock, irql);
        return STATUS_PENDING;
    default:
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST);
    }
}

/* IRP_MJ_CLEANUP: the handle is being closed; its waiting requests end now. */
static NTSTATUS DispatchCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PIRP pending;
    KIRQL irql;
    ULONG i;

    UNREFERENCED_PARAMETER(DeviceObject);
    for (;;) {
        KeAcquireSpinLock(&gQueueLock, &irql);
        pending = file != NULL ? TakePending(file) : NULL;
        KeReleaseSpinLock(&gQueueLock, irql);
        if (pending == NULL)
            break;
#if PROCTABLE_BROKEN == 8
        IoSetCancelRoutine(pending, NULL);
#endif
        pending->IoStatus.Information = 0;
        Complete(pending, STATUS_CANCELLED);
    }
    KeAcquireSpinLock(&gQueueLock, &irql);
    for (i = 0; i < gClientCount; i++) {
        if (gClients[i] == PsGetCurrentProcessId()) {
            gClients[i] = gClients[--gClientCount];
            break;
        }
    }
    KeReleaseSpinLock(&gQueueLock, irql);
    Irp->IoStatus.Information = 0;
    return Complete(Irp, STATUS_SUCCESS);
}

static NTSTATUS DispatchCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NTSTATUS status = STATUS_SUCCESS;
    KIRQL irql;

    UNREFERENCED_PARAMETER(DeviceObject);
    KeAcquireSpinLock(&gQueueLock, &irql);
    if (gClientCount < MAX_CLIENTS)
        gClients[gClientCount++] = PsGetCurrentProcessId();
    else
        status = STATUS_INSUFFICIENT_RESOURCES;
    KeReleaseSpinLock(&gQueueLock, irql);
    Irp->IoStatus.Information = 0;
    return Complete(Irp, status);
}

static NTSTATUS DispatchClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Information = 0;
    return Complete(Irp, STATUS_SUCCESS);
}

static VOID ProcTableUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
#if PROCTABLE_BROKEN == 5
    /* frees what the routines use while they may still run on other CPUs */
    FreeTable();
#endif
    PsRemoveLoadImageNotifyRoutine(OnImage);
    PsRemoveCreateThreadNotifyRoutine(OnThread);
    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
#if PROCTABLE_BROKEN != 5
    ExWaitForRundownProtectionRelease(&gRundown);
    FreeTable();
#endif
    /* the I/O manager calls DriverUnload only once no file is open on the device: no request is pending */
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
    DbgPrint("proctable: unloaded after %ld events\n", gEvents);
}

/* DriverEntry failed after registering: routines that ran meanwhile (on other CPUs) may have added records. */
static NTSTATUS Undo(NTSTATUS status)
{
    ExWaitForRundownProtectionRelease(&gRundown);
    FreeTable();
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
    return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName = RTL_CONSTANT_STRING(L"\\Device\\ProcTable");
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeSpinLock(&gTableLock);
    KeInitializeSpinLock(&gQueueLock);
    ExInitializeRundownProtection(&gRundown);
    InitializeListHead(&gPending);
    gHead = gCount = gDropped = gClientCount = 0;
    gEvents = 0;

    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &gDevice);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&gLinkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(gDevice);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchCreate;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = DispatchCleanup;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchControl;

    status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (!NT_SUCCESS(status)) {
        IoDeleteSymbolicLink(&gLinkName);
        IoDeleteDevice(gDevice);
        return status;
    }
    status = PsSetCreateThreadNotifyRoutine(OnThread);
    if (!NT_SUCCESS(status)) {
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        return Undo(status);
    }
    status = PsSetLoadImageNotifyRoutine(OnImage);
    if (!NT_SUCCESS(status)) {
        PsRemoveCreateThreadNotifyRoutine(OnThread);
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        return Undo(status);
    }
    DriverObject->DriverUnload = ProcTableUnload;
    DbgPrint("proctable: loaded\n");
    return STATUS_SUCCESS;
}
