/*
 * regguard.c: self-protection of a sensor's own configuration, the way EDR drivers guard their service key
 * (Windows 8 and later, x86 and x64).
 *
 *  - DriverEntry keeps its service key's path (RegistryPath) and registers a RegistryCallback with
 *    CmRegisterCallbackEx at altitude 385200.
 *  - RegistryCallback: a write to the service key or a key below it — a value set or deleted, the key deleted or
 *    renamed (the key's name from CmCallbackGetKeyObjectIDEx, released at once), or the key created or opened
 *    through NtCreateKey (the name as the caller spelt it, compared case-insensitively) — from any caller but the
 *    System process (kernel-mode callers) fails with STATUS_ACCESS_DENIED. Everything else passes.
 *  - DriverUnload unregisters the callback and frees the saved path.
 *
 * Broken twins (-DREGGUARD_BROKEN=n): 1 never releases the key's name; 2 compares the path as a prefix without the
 * separator, so it also blocks the service whose name begins with this one's; 3 forgets CmUnRegisterCallback;
 * 4 compares NtCreateKey's name case-sensitively, so a caller that spells the path in capitals gets through.
 */
#include <ntddk.h>

#define GUARD_TAG 'dgeR'
#define SYSTEM_PID ((HANDLE)4)

static LARGE_INTEGER gCookie;
static UNICODE_STRING gServiceKey;

/* `Name` is the service key or a key below it */
static BOOLEAN IsGuarded(PCUNICODE_STRING Name, BOOLEAN CaseInsensitive)
{
    USHORT chars = gServiceKey.Length / sizeof(WCHAR);
    if (!RtlPrefixUnicodeString(&gServiceKey, Name, CaseInsensitive))
        return FALSE;
#if REGGUARD_BROKEN == 2
    return TRUE;
#else
    return Name->Length == gServiceKey.Length || Name->Buffer[chars] == L'\\';
#endif
}

/* the key object's full name (a string the configuration manager allocates for this call) */
static BOOLEAN ObjectIsGuarded(PVOID Object)
{
    PCUNICODE_STRING name = NULL;
    BOOLEAN guarded;
    if (!NT_SUCCESS(CmCallbackGetKeyObjectIDEx(&gCookie, Object, NULL, &name, 0)))
        return FALSE;
    guarded = IsGuarded(name, TRUE);
#if REGGUARD_BROKEN != 1
    CmCallbackReleaseKeyObjectIDEx(name);
#endif
    return guarded;
}

static NTSTATUS RegistryCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    REG_NOTIFY_CLASS cls = (REG_NOTIFY_CLASS)(ULONG_PTR)Argument1;
    BOOLEAN guarded = FALSE;

    UNREFERENCED_PARAMETER(Context);
    if (Argument2 == NULL || PsGetCurrentProcessId() == SYSTEM_PID)
        return STATUS_SUCCESS;
    switch (cls) {
    case RegNtPreSetValueKey:
        guarded = ObjectIsGuarded(((PREG_SET_VALUE_KEY_INFORMATION)Argument2)->Object);
        break;
    case RegNtPreDeleteValueKey:
        guarded = ObjectIsGuarded(((PREG_DELETE_VALUE_KEY_INFORMATION)Argument2)->Object);
        break;
    case RegNtPreDeleteKey:
        guarded = ObjectIsGuarded(((PREG_DELETE_KEY_INFORMATION)Argument2)->Object);
        break;
    case RegNtPreRenameKey:
        guarded = ObjectIsGuarded(((PREG_RENAME_KEY_INFORMATION)Argument2)->Object);
        break;
    case RegNtPreCreateKeyEx: {
        PREG_CREATE_KEY_INFORMATION info = (PREG_CREATE_KEY_INFORMATION)Argument2;
        /* an absolute path names the key itself; a relative one is below RootObject */
        if (info->CompleteName->Length > 0 && info->CompleteName->Buffer[0] == L'\\')
#if REGGUARD_BROKEN == 4
            guarded = IsGuarded(info->CompleteName, FALSE);
#else
            guarded = IsGuarded(info->CompleteName, TRUE);
#endif
        else
            guarded = ObjectIsGuarded(info->RootObject);
        break;
    }
    default:
        break;
    }
    if (!guarded)
        return STATUS_SUCCESS;
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "REGGUARD DENY class=%u pid=%Iu\n", (ULONG)cls, (ULONG_PTR)PsGetCurrentProcessId());
    return STATUS_ACCESS_DENIED;
}

static VOID RegGuardUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
#if REGGUARD_BROKEN != 3
    CmUnRegisterCallback(gCookie);
#endif
    ExFreePoolWithTag(gServiceKey.Buffer, GUARD_TAG);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING altitude = RTL_CONSTANT_STRING(L"385200");
    NTSTATUS status;

    gServiceKey.Buffer = (PWCH)ExAllocatePoolWithTag(PagedPool, RegistryPath->Length, GUARD_TAG);
    if (gServiceKey.Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    gServiceKey.MaximumLength = RegistryPath->Length;
    RtlCopyUnicodeString(&gServiceKey, RegistryPath);

    status = CmRegisterCallbackEx(RegistryCallback, &altitude, DriverObject, NULL, &gCookie, NULL);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(gServiceKey.Buffer, GUARD_TAG);
        return status;
    }
    DriverObject->DriverUnload = RegGuardUnload;
    return STATUS_SUCCESS;
}
