/*
 * obguard.c: an anti-tamper guard the way EDR and anti-cheat drivers are built (Windows 10 1703 and later, x86
 * and x64).
 *
 *  - PsSetCreateProcessNotifyRoutineEx2 tracks every live process in a table of lookaside-allocated entries under
 *    an ERESOURCE (taken inside a critical region, as the WDK requires), with the image name from
 *    SeLocateProcessImageName; lsass.exe is guarded (its memory holds credentials: a dumper opens it for
 *    PROCESS_VM_READ).
 *  - ObRegisterCallbacks: a pre-operation callback on process handle opens and duplicates strips
 *    PROCESS_TERMINATE and the PROCESS_VM_* rights from handles other processes ask for to a guarded one (a process
 *    may open itself; kernel handles are left alone).
 *  - DriverUnload unregisters both, frees the table, deletes the lookaside list and the resource.
 *
 * Broken twins (-DOBGUARD_BROKEN=n): 1 ORs the rights in instead of stripping them; 2 forgets ObUnRegisterCallbacks.
 */
#include <ntddk.h> /* ObRegisterCallbacks and its types are wdm.h's, reached through ntddk.h, as in the WDK */
#include <ntstrsafe.h>

#define GUARD_TAG 'draG'
#define STRIPPED (PROCESS_TERMINATE | PROCESS_VM_OPERATION | PROCESS_VM_READ | PROCESS_VM_WRITE)

typedef struct _GUARD_ENTRY {
    LIST_ENTRY Link;
    HANDLE ProcessId;
    BOOLEAN Guarded;
} GUARD_ENTRY, *PGUARD_ENTRY;

static LIST_ENTRY gProcesses;
static ERESOURCE gLock;
static NPAGED_LOOKASIDE_LIST gEntries;
static PVOID gRegistration;

static PGUARD_ENTRY Find(HANDLE ProcessId)
{
    PLIST_ENTRY e;
    for (e = gProcesses.Flink; e != &gProcesses; e = e->Flink) {
        PGUARD_ENTRY entry = CONTAINING_RECORD(e, GUARD_ENTRY, Link);
        if (entry->ProcessId == ProcessId)
            return entry;
    }
    return NULL;
}

/* the last path component is "lsass.exe", case-insensitively */
static BOOLEAN IsGuardedImage(PCUNICODE_STRING Image)
{
    WCHAR name[64];
    USHORT chars = Image->Length / sizeof(WCHAR), start = chars;
    while (start > 0 && Image->Buffer[start - 1] != L'\\')
        start--;
    if (!NT_SUCCESS(RtlStringCchCopyNW(name, RTL_NUMBER_OF(name), Image->Buffer + start, chars - start)))
        return FALSE;
    return _wcsicmp(name, L"lsass.exe") == 0;
}

static VOID OnProcess(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo)
{
    PGUARD_ENTRY entry;
    if (CreateInfo != NULL) {
        PUNICODE_STRING image = NULL;
        BOOLEAN guarded = FALSE;
        if (NT_SUCCESS(SeLocateProcessImageName(Process, &image))) {
            guarded = IsGuardedImage(image);
            ExFreePool(image);
        }
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "OBGUARD START pid=%Iu ppid=%Iu guarded=%u\n",
            (ULONG_PTR)ProcessId, (ULONG_PTR)CreateInfo->ParentProcessId, guarded);
        entry = (PGUARD_ENTRY)ExAllocateFromNPagedLookasideList(&gEntries);
        if (entry == NULL)
            return;
        entry->ProcessId = ProcessId;
        entry->Guarded = guarded;
        KeEnterCriticalRegion();
        ExAcquireResourceExclusiveLite(&gLock, TRUE);
        InsertTailList(&gProcesses, &entry->Link);
        ExReleaseResourceLite(&gLock);
        KeLeaveCriticalRegion();
        return;
    }
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "OBGUARD EXIT pid=%Iu\n", (ULONG_PTR)ProcessId);
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&gLock, TRUE);
    entry = Find(ProcessId);
    if (entry != NULL)
        RemoveEntryList(&entry->Link);
    ExReleaseResourceLite(&gLock);
    KeLeaveCriticalRegion();
    if (entry != NULL)
        ExFreeToNPagedLookasideList(&gEntries, entry);
}

static OB_PREOP_CALLBACK_STATUS OnHandle(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    HANDLE target = PsGetProcessId((PEPROCESS)Info->Object);
    PGUARD_ENTRY entry;
    BOOLEAN guarded = FALSE;
    ACCESS_MASK *desired;

    UNREFERENCED_PARAMETER(Context);
    if (Info->KernelHandle || target == PsGetCurrentProcessId())
        return OB_PREOP_SUCCESS;
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(&gLock, TRUE);
    entry = Find(target);
    guarded = entry != NULL && entry->Guarded;
    ExReleaseResourceLite(&gLock);
    KeLeaveCriticalRegion();
    if (!guarded)
        return OB_PREOP_SUCCESS;
    desired = Info->Operation == OB_OPERATION_HANDLE_CREATE ? &Info->Parameters->CreateHandleInformation.DesiredAccess
                                                             : &Info->Parameters->DuplicateHandleInformation.DesiredAccess;
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "OBGUARD STRIP pid=%Iu by=%Iu access=%08lX\n", (ULONG_PTR)target,
        (ULONG_PTR)PsGetCurrentProcessId(), *desired);
#if OBGUARD_BROKEN == 1
    *desired |= STRIPPED;
#else
    *desired &= ~STRIPPED;
#endif
    return OB_PREOP_SUCCESS;
}

static VOID FreeTable(VOID)
{
    while (!IsListEmpty(&gProcesses))
        ExFreeToNPagedLookasideList(&gEntries, CONTAINING_RECORD(RemoveHeadList(&gProcesses), GUARD_ENTRY, Link));
}

static VOID ObGuardUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
#if OBGUARD_BROKEN != 2
    ObUnRegisterCallbacks(gRegistration);
#endif
    PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)OnProcess, TRUE);
    FreeTable();
    ExDeleteNPagedLookasideList(&gEntries);
    ExDeleteResourceLite(&gLock);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    OB_OPERATION_REGISTRATION operation = { PsProcessType, OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE, OnHandle, NULL };
    OB_CALLBACK_REGISTRATION registration = { OB_FLT_REGISTRATION_VERSION, 1, RTL_CONSTANT_STRING(L"321000"), NULL, &operation };
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InitializeListHead(&gProcesses);
    ExInitializeResourceLite(&gLock);
    ExInitializeNPagedLookasideList(&gEntries, NULL, NULL, 0, sizeof(GUARD_ENTRY), GUARD_TAG, 0);

    status = PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)OnProcess, FALSE);
    if (!NT_SUCCESS(status))
        goto undo_objects;
    status = ObRegisterCallbacks(&registration, &gRegistration);
    if (!NT_SUCCESS(status))
        goto undo_process;
    DriverObject->DriverUnload = ObGuardUnload;
    return STATUS_SUCCESS;

undo_process:
    PsSetCreateProcessNotifyRoutineEx2(PsCreateProcessNotifySubsystems, (PVOID)OnProcess, TRUE);
    FreeTable();
undo_objects:
    ExDeleteNPagedLookasideList(&gEntries);
    ExDeleteResourceLite(&gLock);
    return status;
}
