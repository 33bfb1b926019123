/*
 * callbacks.c: the multifile driver's process and image routines. Both count under a guarded mutex. The
 * configuration Broken (MF_FORGET_IMAGE_ROUTINE) leaves the image routine registered at unload: the kernel then
 * calls into an unloaded image, bug check 0xCE, the classic this twin exists to show.
 */
#include "multifile.h"

KGUARDED_MUTEX gCountsLock;
MF_COUNTS gCounts;

static VOID MfOnProcess(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create)
{
    UNREFERENCED_PARAMETER(ParentId);
    UNREFERENCED_PARAMETER(ProcessId);
    if (!Create)
        return;
    KeAcquireGuardedMutex(&gCountsLock);
    gCounts.Processes++;
    KeReleaseGuardedMutex(&gCountsLock);
}

static VOID MfOnImage(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    UNREFERENCED_PARAMETER(FullImageName);
    UNREFERENCED_PARAMETER(ProcessId);
    UNREFERENCED_PARAMETER(ImageInfo);
    KeAcquireGuardedMutex(&gCountsLock);
    gCounts.Images++;
    KeReleaseGuardedMutex(&gCountsLock);
}

NTSTATUS MfRegisterCallbacks(VOID)
{
    NTSTATUS status = PsSetCreateProcessNotifyRoutine(MfOnProcess, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    status = PsSetLoadImageNotifyRoutine(MfOnImage);
    if (!NT_SUCCESS(status))
        PsSetCreateProcessNotifyRoutine(MfOnProcess, TRUE);
    return status;
}

VOID MfUnregisterCallbacks(VOID)
{
    PsSetCreateProcessNotifyRoutine(MfOnProcess, TRUE);
#ifndef MF_FORGET_IMAGE_ROUTINE
    PsRemoveLoadImageNotifyRoutine(MfOnImage);
#endif
}
