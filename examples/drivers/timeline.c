/*
 * timeline.c: a process timeline (Windows XP and later, x86 and x64) — when each process started, what it runs,
 * how long it lived.
 *
 *  - PsSetCreateProcessNotifyRoutine; at creation the driver opens a kernel handle to the process
 *    (ObOpenObjectByPointer), asks ZwQueryInformationProcess for ProcessBasicInformation (its parent) and
 *    ProcessImageFileName (first with a small buffer, for the size it needs, then with pool of that size), closes
 *    the handle, and keeps PsGetProcessCreateTimeQuadPart in a table under a push lock (in a critical region).
 *  - At exit it logs the lifetime from KeQuerySystemTime.
 *
 * Broken twins (-DTIMELINE_BROKEN=n): 1 never closes its handle (every process it saw stays referenced: a zombie);
 * 2 passes sizeof(ULONG) for ProcessBasicInformation and logs the uninitialised parent it gets back.
 */
#include <ntifs.h>

#define TL_TAG 'eniT'
#define TL_SLOTS 64

typedef struct _TL_ENTRY { HANDLE ProcessId; LONGLONG Created; } TL_ENTRY;

static TL_ENTRY gTable[TL_SLOTS];
static EX_PUSH_LOCK gLock;

static VOID Remember(HANDLE ProcessId, LONGLONG Created)
{
    ULONG i;
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusiveEx(&gLock, 0);
    for (i = 0; i < TL_SLOTS; i++) {
        if (gTable[i].ProcessId == NULL) {
            gTable[i].ProcessId = ProcessId;
            gTable[i].Created = Created;
            break;
        }
    }
    ExReleasePushLockExclusiveEx(&gLock, 0);
    KeLeaveCriticalRegion();
}

static LONGLONG Forget(HANDLE ProcessId)
{
    LONGLONG created = -1;
    ULONG i;
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusiveEx(&gLock, 0);
    for (i = 0; i < TL_SLOTS; i++) {
        if (gTable[i].ProcessId == ProcessId) {
            created = gTable[i].Created;
            gTable[i].ProcessId = NULL;
            break;
        }
    }
    ExReleasePushLockExclusiveEx(&gLock, 0);
    KeLeaveCriticalRegion();
    return created;
}

/* every start is logged: when the process cannot be opened the parent comes from the notification itself */
static VOID Started(HANDLE ParentId, HANDLE ProcessId)
{
    PEPROCESS process;
    HANDLE handle;
    PROCESS_BASIC_INFORMATION basic;
    ULONG needed = 0;
    PUNICODE_STRING image = NULL;
    NTSTATUS status;

    if (!NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &process))) {
        DbgPrint("TIMELINE START pid=%Iu ppid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
        return;
    }
    Remember(ProcessId, PsGetProcessCreateTimeQuadPart(process));
    status = ObOpenObjectByPointer(process, OBJ_KERNEL_HANDLE, NULL, PROCESS_QUERY_LIMITED_INFORMATION, *PsProcessType, KernelMode, &handle);
    ObDereferenceObject(process);
    if (!NT_SUCCESS(status)) {
        DbgPrint("TIMELINE START pid=%Iu ppid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
        return;
    }
#if TIMELINE_BROKEN == 2
    ZwQueryInformationProcess(handle, ProcessBasicInformation, &basic, sizeof(ULONG), NULL);
#else
    if (!NT_SUCCESS(ZwQueryInformationProcess(handle, ProcessBasicInformation, &basic, sizeof(basic), NULL)))
        basic.InheritedFromUniqueProcessId = (ULONG_PTR)ParentId;
#endif
    status = ZwQueryInformationProcess(handle, ProcessImageFileName, NULL, 0, &needed);
    if (status == STATUS_INFO_LENGTH_MISMATCH && needed > 0)
        image = (PUNICODE_STRING)ExAllocatePoolWithTag(PagedPool, needed, TL_TAG);
    if (image != NULL && !NT_SUCCESS(ZwQueryInformationProcess(handle, ProcessImageFileName, image, needed, NULL)))
        image->Length = 0;
    DbgPrint("TIMELINE START pid=%Iu ppid=%Iu\n", (ULONG_PTR)ProcessId, basic.InheritedFromUniqueProcessId);
    if (image != NULL)
        ExFreePoolWithTag(image, TL_TAG);
#if TIMELINE_BROKEN != 1
    ZwClose(handle);
#endif
}

static VOID OnProcess(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    LARGE_INTEGER now;
    LONGLONG created;
    if (Create) {
        Started(ParentId, ProcessId);
        return;
    }
    created = Forget(ProcessId);
    KeQuerySystemTime(&now);
    DbgPrint("TIMELINE EXIT pid=%Iu lived_ms=%I64d\n", (ULONG_PTR)ProcessId, created < 0 ? -1 : (now.QuadPart - created) / 10000);
}

static VOID TimelineUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializePushLock(&gLock);
    RtlZeroMemory(gTable, sizeof(gTable));
    status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (NT_SUCCESS(status))
        DriverObject->DriverUnload = TimelineUnload;
    return status;
}
