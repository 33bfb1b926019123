/* ioctl.c: the multifile driver's device: IOCTL_MULTIFILE_GET_COUNTS copies the counts out. */
#include "multifile.h"

NTSTATUS MfCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

NTSTATUS MfDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
    ULONG_PTR information = 0;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (stack->Parameters.DeviceIoControl.IoControlCode == IOCTL_MULTIFILE_GET_COUNTS) {
        if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(MF_COUNTS)) {
            status = STATUS_BUFFER_TOO_SMALL;
        } else {
            KeAcquireGuardedMutex(&gCountsLock);
            *(PMF_COUNTS)Irp->AssociatedIrp.SystemBuffer = gCounts;
            KeReleaseGuardedMutex(&gCountsLock);
            status = STATUS_SUCCESS;
            information = sizeof(MF_COUNTS);
        }
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}
