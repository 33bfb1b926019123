/*
 * fileguard.c: self-protection of a sensor's own image on disk, the way EDR drivers guard their files (Windows Vista
 * and later, x86 and x64): a minifilter that fails, with STATUS_ACCESS_DENIED, every change a user-mode caller makes to
 * \Windows\System32\drivers\<service>.sys — a create or open that may write it (any disposition but FILE_OPEN), a
 * write, a rename, a delete. Kernel-mode callers (the System process: the service's own updater runs there) and every
 * other file pass; so does a read.
 *
 *  - DriverEntry takes its service name from RegistryPath, builds the guarded name, registers the filter (pre-create,
 *    pre-write, pre-set-information) and starts filtering.
 *  - Each pre-operation names the file (FltGetFileNameInformation, FLT_FILE_NAME_OPENED: the guarded name is checked
 *    as the caller opened it), compares it case-insensitively, releases the name, and completes the operation with
 *    STATUS_ACCESS_DENIED if it is a change the guard forbids.
 *  - FilterUnloadCallback unregisters the filter and frees the name.
 *
 * Broken twins (-DFILEGUARD_BROKEN=n): 1 never checks who the caller is, so it also blocks the kernel-mode updater;
 * 2 fails every user-mode open of the file, reads included; 3 forgets renames (a rename of the image goes through).
 */
#include <fltKernel.h>

#define GUARD_TAG 'dgeF'

static PFLT_FILTER gFilter;
static UNICODE_STRING gGuarded; /* \Windows\System32\drivers\<service>.sys */
static const WCHAR DriversDir[] = L"\\Windows\\System32\\drivers\\";

/* the operation's file is the guarded one (the name as opened, after the volume's) */
static BOOLEAN IsGuardedFile(PFLT_CALLBACK_DATA Data)
{
    PFLT_FILE_NAME_INFORMATION name = NULL;
    UNICODE_STRING path;
    BOOLEAN guarded;
    if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &name)))
        return FALSE;
    if (name->Name.Length <= name->Volume.Length) {
        FltReleaseFileNameInformation(name);
        return FALSE;
    }
    path.Buffer = name->Name.Buffer + name->Volume.Length / sizeof(WCHAR);
    path.Length = path.MaximumLength = name->Name.Length - name->Volume.Length;
    guarded = RtlEqualUnicodeString(&path, &gGuarded, TRUE);
    FltReleaseFileNameInformation(name);
    return guarded;
}

static BOOLEAN MayChange(PFLT_CALLBACK_DATA Data)
{
#if FILEGUARD_BROKEN == 1
    UNREFERENCED_PARAMETER(Data);
    return FALSE;
#else
    return Data->RequestorMode == KernelMode;
#endif
}

static FLT_PREOP_CALLBACK_STATUS Deny(PFLT_CALLBACK_DATA Data)
{
    Data->IoStatus.Status = STATUS_ACCESS_DENIED;
    Data->IoStatus.Information = 0;
    return FLT_PREOP_COMPLETE;
}

static FLT_PREOP_CALLBACK_STATUS PreCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext)
{
    ULONG disposition = (Data->Iopb->Parameters.Create.Options >> 24) & 0xff;
    UNREFERENCED_PARAMETER(FltObjects);
    UNREFERENCED_PARAMETER(CompletionContext);
#if FILEGUARD_BROKEN == 2
    UNREFERENCED_PARAMETER(disposition);
    if (!MayChange(Data) && IsGuardedFile(Data))
        return Deny(Data);
#else
    if (disposition != FILE_OPEN && !MayChange(Data) && IsGuardedFile(Data))
        return Deny(Data);
#endif
    return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS PreWrite(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext)
{
    UNREFERENCED_PARAMETER(FltObjects);
    UNREFERENCED_PARAMETER(CompletionContext);
    if (!MayChange(Data) && IsGuardedFile(Data))
        return Deny(Data);
    return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS PreSetInformation(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext)
{
    FILE_INFORMATION_CLASS cls = Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
    UNREFERENCED_PARAMETER(FltObjects);
    UNREFERENCED_PARAMETER(CompletionContext);
#if FILEGUARD_BROKEN == 3
    if (cls != FileDispositionInformation && cls != FileDispositionInformationEx)
#else
    if (cls != FileRenameInformation && cls != FileRenameInformationEx && cls != FileDispositionInformation && cls != FileDispositionInformationEx)
#endif
        return FLT_PREOP_SUCCESS_NO_CALLBACK;
    if (!MayChange(Data) && IsGuardedFile(Data))
        return Deny(Data);
    return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static NTSTATUS FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
    UNREFERENCED_PARAMETER(Flags);
    FltUnregisterFilter(gFilter);
    ExFreePoolWithTag(gGuarded.Buffer, GUARD_TAG);
    return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    { IRP_MJ_CREATE, 0, PreCreate, NULL },
    { IRP_MJ_WRITE, 0, PreWrite, NULL },
    { IRP_MJ_SET_INFORMATION, 0, PreSetInformation, NULL },
    { IRP_MJ_OPERATION_END }
};

static const FLT_REGISTRATION FilterRegistration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, NULL, Callbacks, FilterUnload,
};

/* \Windows\System32\drivers\ + the last component of RegistryPath + .sys */
static NTSTATUS BuildGuardedName(PCUNICODE_STRING RegistryPath)
{
    USHORT chars = RegistryPath->Length / sizeof(WCHAR);
    USHORT start = chars;
    USHORT dir = (USHORT)(sizeof(DriversDir) - sizeof(WCHAR));
    USHORT service;
    while (start > 0 && RegistryPath->Buffer[start - 1] != L'\\')
        start--;
    service = (USHORT)((chars - start) * sizeof(WCHAR));
    if (service == 0)
        return STATUS_INVALID_PARAMETER;
    gGuarded.MaximumLength = (USHORT)(dir + service + 4 * sizeof(WCHAR));
    gGuarded.Buffer = (PWCH)ExAllocatePoolWithTag(NonPagedPool, gGuarded.MaximumLength, GUARD_TAG);
    if (gGuarded.Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(gGuarded.Buffer, DriversDir, dir);
    RtlCopyMemory((PUCHAR)gGuarded.Buffer + dir, RegistryPath->Buffer + start, service);
    RtlCopyMemory((PUCHAR)gGuarded.Buffer + dir + service, L".sys", 4 * sizeof(WCHAR));
    gGuarded.Length = gGuarded.MaximumLength;
    return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status = BuildGuardedName(RegistryPath);
    if (!NT_SUCCESS(status))
        return status;
    status = FltRegisterFilter(DriverObject, &FilterRegistration, &gFilter);
    if (NT_SUCCESS(status)) {
        status = FltStartFiltering(gFilter);
        if (!NT_SUCCESS(status))
            FltUnregisterFilter(gFilter);
    }
    if (!NT_SUCCESS(status))
        ExFreePoolWithTag(gGuarded.Buffer, GUARD_TAG);
    return status;
}
