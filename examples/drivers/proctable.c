/*
 * proctable.c: a process table shared by notify routines running on several CPUs at once.
 *
 *  - Every live process it saw start has a pool-allocated record in a hash table guarded by a spin lock
 *    (gTableLock); thread routines count threads per record under the same lock.
 *  - Every event also goes into a small ring (gQueueLock), always taken after the table lock: one lock order.
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
 */
#include <ntddk.h>

#ifndef PROCTABLE_BROKEN
#define PROCTABLE_BROKEN 0
#endif

#define PT_TAG 'lbTP'
#define BUCKETS 16
#define RING 32

typedef struct _PT_PROCESS {
    struct _PT_PROCESS *Next;
    HANDLE ProcessId;
    HANDLE ParentId;
    ULONG Threads;      /* thread starts seen */
    ULONG Exited;       /* thread exits seen */
    ULONG Images;
    ULONG Siblings;
} PT_PROCESS, *PPT_PROCESS;

typedef struct _PT_EVENT {
    HANDLE ProcessId;
    ULONG Kind;
} PT_EVENT;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ProcTableUnload;

static PPT_PROCESS gBuckets[BUCKETS];
static KSPIN_LOCK gTableLock;
static PT_EVENT gRing[RING];
static ULONG gRingNext;
static KSPIN_LOCK gQueueLock;
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

/* Caller holds gTableLock (the order is always table, then queue). */
static VOID Enqueue(HANDLE ProcessId, ULONG Kind)
{
    KIRQL irql;

    KeAcquireSpinLock(&gQueueLock, &irql);
    gRing[gRingNext % RING].ProcessId = ProcessId;
    gRing[gRingNext % RING].Kind = Kind;
    gRingNext++;
    KeReleaseSpinLock(&gQueueLock, irql);
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
            Enqueue(ProcessId, 1);
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
        Enqueue(ProcessId, 2);
        KeReleaseSpinLock(&gTableLock, irql);
        if (record != NULL)
            ExFreePoolWithTag(record, PT_TAG);
        DbgPrint("proctable: exit pid=%Iu threads=%lu\n", (ULONG_PTR)ProcessId, threads);
    }
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
        DbgPrint("proctable: thread exit pid=%Iu tid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
        ExReleaseRundownProtection(&gRundown);
        return;
    }
#endif
    KeAcquireSpinLock(&gTableLock, &irql);
    record = Find(ProcessId);
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
    gRing[gRingNext % RING].ProcessId = ProcessId;
    gRing[gRingNext % RING].Kind = 3;
    gRingNext++;
    KeReleaseSpinLock(&gTableLock, irql);
    KeReleaseSpinLock(&gQueueLock, irql2);
#else
    UNREFERENCED_PARAMETER(irql2);
    KeAcquireSpinLock(&gTableLock, &irql);
    record = Find(ProcessId);
    if (record != NULL)
        record->Images++;
    Enqueue(ProcessId, 3);
    KeReleaseSpinLock(&gTableLock, irql);
#endif
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
    DbgPrint("proctable: unloaded after %ld events\n", gEvents);
}

/* DriverEntry failed after registering: routines that ran meanwhile (on other CPUs) may have added records. */
static NTSTATUS Undo(NTSTATUS status)
{
    ExWaitForRundownProtectionRelease(&gRundown);
    FreeTable();
    return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeSpinLock(&gTableLock);
    KeInitializeSpinLock(&gQueueLock);
    ExInitializeRundownProtection(&gRundown);
    gRingNext = 0;
    gEvents = 0;

    status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (!NT_SUCCESS(status))
        return status;
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
