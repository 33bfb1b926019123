/*
 * entry.c: DriverEntry and DriverUnload of the multifile driver, a WDM driver in three files built from
 * multifile.vcxproj: this one, callbacks.c (process and image routines) and ioctl.c (a counts IOCTL).
 */
#include "multifile.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD MfUnload;

static PDEVICE_OBJECT gDevice;
static UNICODE_STRING gDeviceName = RTL_CONSTANT_STRING(L"\\Device\\MultiFile");
static UNICODE_STRING gLinkName = RTL_CONSTANT_STRING(L"\\DosDevices\\MultiFile");

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, MfUnload)
#endif

static VOID MfUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    PAGED_CODE();
    MfUnregisterCallbacks();
    IoDeleteSymbolicLink(&gLinkName);
    IoDeleteDevice(gDevice);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeGuardedMutex(&gCountsLock);
    status = IoCreateDevice(DriverObject, 0, &gDeviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &gDevice);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&gLinkName, &gDeviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(gDevice);
        return status;
    }
    status = MfRegisterCallbacks();
    if (!NT_SUCCESS(status)) {
        IoDeleteSymbolicLink(&gLinkName);
        IoDeleteDevice(gDevice);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = MfCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = MfCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = MfDeviceControl;
    DriverObject->DriverUnload = MfUnload;
    return STATUS_SUCCESS;
}
