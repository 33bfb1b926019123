/*
 * vfmon.c: a process monitor that keeps a record per live process in pool, under a FAST_MUTEX, counts events
 * under a spin lock in a paged-or-not statistics block, and logs with DbgPrint. It is correct as written; each
 * PSH_MUTANT value (compiled with -DPSH_MUTANT=n, see src/driver/verifier-mutants.ts) plants one memory or IRQL
 * bug of the kind Driver Verifier exists to catch. Runs on every x86 build (legacy notify routine only).
 */
#include <ntifs.h>

#ifndef PSH_MUTANT
#define PSH_MUTANT 0
#endif
#define MUTANT(n) (PSH_MUTANT == (n))

#define VF_TAG 'noMV'
#define VF_NAME_TAG 'maNV'

NTKERNELAPI PCHAR PsGetProcessImageFileName(PEPROCESS Process);

typedef struct _VF_RECORD {
    LIST_ENTRY Link;
    HANDLE ProcessId;
    HANDLE ParentId;
    PCHAR Name;
} VF_RECORD, *PVF_RECORD;

typedef struct _VF_STATS {
    ULONG Creates;
    ULONG Exits;
} VF_STATS, *PVF_STATS;

static LIST_ENTRY gRecords;
static FAST_MUTEX gLock;
static KSPIN_LOCK gStatsLock;
static PVF_STATS gStats;
static UNICODE_STRING gLabel = RTL_CONSTANT_STRING(L"vfmon");

/* Caller holds gLock. */
static PVF_RECORD Find(HANDLE ProcessId)
{
    PLIST_ENTRY e;
    for (e = gRecords.Flink; e != &gRecords; e = e->Flink) {
        PVF_RECORD r = CONTAINING_RECORD(e, VF_RECORD, Link);
        if (r->ProcessId == ProcessId)
            return r;
    }
    return NULL;
}

static VOID FreeRecord(PVF_RECORD r)
{
    if (r->Name != NULL)
        ExFreePoolWithTag(r->Name, VF_NAME_TAG);
    ExFreePoolWithTag(r, MUTANT(3) ? VF_NAME_TAG : VF_TAG);
}

static VOID Count(BOOLEAN Create)
{
    KIRQL old;
    KeAcquireSpinLock(&gStatsLock, &old);
    if (Create)
        gStats->Creates++;
    else
        gStats->Exits++;
    if (MUTANT(8))
        DbgPrint("%wZ: counted\n", &gLabel);
    if (MUTANT(9)) {
        PEPROCESS p;
        if (NT_SUCCESS(PsLookupProcessByProcessId(PsGetCurrentProcessId(), &p)))
            ObDereferenceObject(p);
    }
    KeReleaseSpinLock(&gStatsLock, old);
}

static PCHAR CopyName(PEPROCESS Process)
{
    PCHAR src = PsGetProcessImageFileName(Process);
    SIZE_T len = strlen(src);
    PCHAR buf = ExAllocatePoolWithTag(NonPagedPool, MUTANT(6) ? len : len + 1, VF_NAME_TAG);
    if (buf == NULL)
        return NULL;
    RtlCopyMemory(buf, src, len);
    buf[MUTANT(5) ? len + 1 : len] = '\0';
    if (MUTANT(5))
        buf[len] = '\0';
    return buf;
}

static VOID OnProcess(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    PVF_RECORD r, stale;
    PEPROCESS process;

    Count(Create);
    if (!Create) {
        ExAcquireFastMutex(&gLock);
        r = Find(ProcessId);
        if (r == NULL) { /* started before we loaded, or not tracked: log the exit all the same */
            if (!MUTANT(11))
                ExReleaseFastMutex(&gLock);
            DbgPrint("vfmon: exit pid=%Iu parent=0 name=?\n", (ULONG_PTR)ProcessId);
            return;
        }
        if (MUTANT(1)) {
            FreeRecord(r);
            RemoveEntryList(&r->Link);
            ExReleaseFastMutex(&gLock);
            return;
        }
        if (!MUTANT(2))
            RemoveEntryList(&r->Link);
        ExReleaseFastMutex(&gLock);
        DbgPrint("vfmon: exit pid=%Iu parent=%Iu name=%s\n", (ULONG_PTR)ProcessId, (ULONG_PTR)r->ParentId,
                 r->Name != NULL ? r->Name : "?");
        FreeRecord(r);
        return;
    }

    DbgPrint("%wZ: start pid=%Iu parent=%Iu\n", &gLabel, (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
    r = ExAllocatePoolWithTag(NonPagedPool, sizeof(VF_RECORD), VF_TAG);
    if (r == NULL)
        return;
    r->ProcessId = ProcessId;
    if (!MUTANT(7))
        r->ParentId = ParentId;
    r->Name = NULL;
    if (NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &process))) {
        if (MUTANT(12))
            PsGetProcessImageFileName(process)[0] = '\0'; /* "truncate" the kernel's copy */
        r->Name = CopyName(process);
        ObDereferenceObject(process);
    }
    ExAcquireFastMutex(&gLock);
    stale = Find(ProcessId); /* a PID whose exit we missed: the new process owns it now */
    if (stale != NULL)
        RemoveEntryList(&stale->Link);
    InsertTailList(&gRecords, &r->Link);
    if (!MUTANT(10))
        ExReleaseFastMutex(&gLock);
    if (stale != NULL)
        FreeRecord(stale);
}

static VOID Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
    ExAcquireFastMutex(&gLock);
    while (!IsListEmpty(&gRecords)) {
        PVF_RECORD r = CONTAINING_RECORD(RemoveHeadList(&gRecords), VF_RECORD, Link);
        FreeRecord(r);
        if (MUTANT(4))
            ExFreePoolWithTag(r, VF_TAG);
    }
    if (!MUTANT(13))
        ExReleaseFastMutex(&gLock);
    ExFreePoolWithTag(gStats, VF_TAG);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InitializeListHead(&gRecords);
    ExInitializeFastMutex(&gLock);
    KeInitializeSpinLock(&gStatsLock);
    /* counters touched under a spin lock must live in nonpaged pool */
    gStats = ExAllocatePoolWithTag(MUTANT(14) ? PagedPool : NonPagedPool, sizeof(VF_STATS), VF_TAG);
    if (gStats == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(gStats, sizeof(VF_STATS));
    status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(gStats, VF_TAG);
        return status;
    }
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
