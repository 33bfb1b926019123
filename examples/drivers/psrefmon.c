/*
 * psrefmon.c: the seed's process/thread/image monitor done right, in C — the C twin of src/driver/reference.ts.
 *
 *  - The process name comes from PsGetProcessImageFileName where the kernel exports it (XP and later), found with
 *    MmGetSystemRoutineAddress so the same binary also loads on Windows 2000; there the offset of ImageFileName is
 *    found at DriverEntry by scanning the System process's EPROCESS for "System" (DriverEntry runs in the System
 *    process). Names are printed bounded: %.15s.
 *  - Every successful PsLookupProcessByProcessId is balanced by ObDereferenceObject before the callback returns;
 *    a failed lookup still logs the event. Exits need no lookup.
 *  - Handles with %Iu, pointers with %p, the image path with %wZ (in chunks with %.*ws when one DbgPrint call
 *    could not carry it), and a NULL FullImageName is handled.
 *  - DriverEntry undoes every step in reverse when a later one fails; DriverUnload removes the routines first,
 *    then the link, then the device. On Windows 2000 thread and image routines can never be removed, so the
 *    removable process routine is registered first, and the driver sets no DriverUnload (it must stay loaded).
 */
#include <ntddk.h>
#include <ntifs.h>

#define PATH_CHUNK 400

typedef PCHAR (*PFN_GET_IMAGE_FILE_NAME)(PEPROCESS Process);
typedef NTSTATUS (*PFN_REMOVE_NOTIFY_ROUTINE)(PVOID NotifyRoutine);

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD PsRefMonUnload;

static PFN_GET_IMAGE_FILE_NAME gGetImageFileName;
static PFN_REMOVE_NOTIFY_ROUTINE gRemoveThreadRoutine;
static PFN_REMOVE_NOTIFY_ROUTINE gRemoveImageRoutine;
static ULONG gNameOffset;
static PDEVICE_OBJECT gDevice;
static BOOLEAN gImageRegistered;
static UNICODE_STRING gDeviceName = RTL_CONSTANT_STRING(L"\\Device\\PsRefMonC");
static UNICODE_STRING gLinkName = RTL_CONSTANT_STRING(L"\\DosDevices\\PsRefMonC");

static PCHAR ImageFileName(PEPROCESS Process)
{
    if (gGetImageFileName != NULL)
        return gGetImageFileName(Process);
    return gNameOffset != 0 ? (PCHAR)Process + gNameOffset : NULL;
}

static ULONG FindNameOffset(VOID)
{
    PCHAR system = (PCHAR)PsGetCurrentProcess();
    ULONG offset;

    for (offset = 0; offset < 0x1000; offset++) {
        if (memcmp(system + offset, "System", sizeof("System")) == 0)
            return offset;
    }
    return 0;
}

static PVOID SystemRoutine(PCWSTR Name)
{
    UNICODE_STRING name;

    RtlInitUnicodeString(&name, Name);
    return MmGetSystemRoutineAddress(&name);
}

static VOID ProcessNotify(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    PEPROCESS process = NULL;

    if (!Create) {
        DbgPrint("PROCESS EXIT pid=%Iu ppid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
        return;
    }
    if (!NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &process))) {
        DbgPrint("PROCESS CREATE pid=%Iu ppid=%Iu name=? eprocess=?\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId);
        return;
    }
    DbgPrint("PROCESS CREATE pid=%Iu ppid=%Iu name=%.15s eprocess=%p\n",
             (ULONG_PTR)ProcessId, (ULONG_PTR)ParentId, ImageFileName(process), process);
    ObDereferenceObject(process);
}

static VOID ThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    PEPROCESS process = NULL;

    if (!Create) {
        DbgPrint("THREAD EXIT pid=%Iu tid=%Iu\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
        return;
    }
    if (!NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &process))) {
        DbgPrint("THREAD CREATE pid=%Iu tid=%Iu name=?\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId);
        return;
    }
    DbgPrint("THREAD CREATE pid=%Iu tid=%Iu name=%.15s\n", (ULONG_PTR)ProcessId, (ULONG_PTR)ThreadId, ImageFileName(process));
    ObDereferenceObject(process);
}

static VOID ImageNotify(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    ULONG chars, at;

    if (FullImageName == NULL) {
        DbgPrint("IMAGE LOAD pid=%Iu base=%p size=%Iu path=(null)\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize);
        return;
    }
    chars = FullImageName->Length / sizeof(WCHAR);
    if (chars <= PATH_CHUNK) {
        DbgPrint("IMAGE LOAD pid=%Iu base=%p size=%Iu path=%wZ\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize, FullImageName);
        return;
    }
    DbgPrint("IMAGE LOAD pid=%Iu base=%p size=%Iu path=%.*ws\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize,
             PATH_CHUNK, FullImageName->Buffer);
    for (at = PATH_CHUNK; at < chars; at += PATH_CHUNK)
        DbgPrint("IMAGE PATH+ %.*ws\n", (int)min(PATH_CHUNK, chars - at), FullImageName->Buffer + at);
}

/* Opening and closing the device succeed; anything else is refused. The status is kept in a local: the IRP is not
 * touched after IoCompleteRequest. */
static NTSTATUS PsRefMonDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DeviceObject);
    switch (stack->MajorFunction) {
    case IRP_MJ_CREATE:
    case IRP_MJ_CLOSE:
    case IRP_MJ_CLEANUP:
        status = STATUS_SUCCESS;
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static VOID PsRefMonUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    if (gImageRegistered)
        gRemoveImageRoutine((PVOID)ImageNotify);
    gRemoveThreadRoutine((PVOID)ThreadNotify);
    PsSetCreateProcessNotifyRoutine(ProcessNotify, TRUE);
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;
    BOOLEAN canRemove;

    UNREFERENCED_PARAMETER(RegistryPath);
    gGetImageFileName = (PFN_GET_IMAGE_FILE_NAME)SystemRoutine(L"PsGetProcessImageFileName");
    gRemoveThreadRoutine = (PFN_REMOVE_NOTIFY_ROUTINE)SystemRoutine(L"PsRemoveCreateThreadNotifyRoutine");
    gRemoveImageRoutine = (PFN_REMOVE_NOTIFY_ROUTINE)SystemRoutine(L"PsRemoveLoadImageNotifyRoutine");
    canRemove = gRemoveThreadRoutine != NULL && gRemoveImageRoutine != NULL;
    if (gGetImageFileName == NULL)
        gNameOffset = FindNameOffset();

    /* Dispatch routines before the device exists: it can be opened as soon as the link is made, and the Windows 2000
     * path below returns early. */
    DriverObject->MajorFunction[IRP_MJ_CREATE] = PsRefMonDispatch;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = PsRefMonDispatch;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = PsRefMonDispatch;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PsRefMonDispatch;
    status = IoCreateDevice(DriverObject, 0, &gDeviceName, FILE_DEVICE_UNKNOWN, 0, TRUE, &gDevice);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&gLinkName, &gDeviceName);
    if (!NT_SUCCESS(status))
        goto delete_device;
    status = PsSetCreateProcessNotifyRoutine(ProcessNotify, FALSE);
    if (!NT_SUCCESS(status))
        goto delete_link;
    status = PsSetCreateThreadNotifyRoutine(ThreadNotify);
    if (!NT_SUCCESS(status))
        goto remove_process;
    status = PsSetLoadImageNotifyRoutine(ImageNotify);
    if (!NT_SUCCESS(status)) {
        if (!canRemove) {
            /* Windows 2000: the thread routine is registered for good; run without image notifications. */
            DbgPrint("psrefmon: PsSetLoadImageNotifyRoutine failed 0x%08X; image loads are not monitored\n", status);
            return STATUS_SUCCESS;
        }
        gRemoveThreadRoutine((PVOID)ThreadNotify);
        goto remove_process;
    }
    gImageRegistered = TRUE;
    if (canRemove)
        DriverObject->DriverUnload = PsRefMonUnload;
    return STATUS_SUCCESS;

remove_process:
    PsSetCreateProcessNotifyRoutine(ProcessNotify, TRUE);
delete_link:
    IoDeleteSymbolicLink(&gLinkName);
delete_device:
    IoDeleteDevice(gDevice);
    return status;
}
