/*
 * imagegate.c: an image-load monitor with a blocklist (Windows XP and later, x86 and x64).
 *
 *  - PsSetLoadImageNotifyRoutine; each load's name is converted to ANSI (RtlUnicodeStringToAnsiString, allocated
 *    and freed), its file name compared case-insensitively against a blocklist (strrchr, _stricmp) and a
 *    substring list (strstr), the verdict formatted with RtlStringCbPrintfA and logged through the driver's own
 *    variadic wrapper around vDbgPrintEx; loads and flags are counted with InterlockedIncrement.
 *  - Rundown protection around the callback: DriverUnload removes the routine, then waits for callbacks in flight.
 *
 * Broken twins (-DIMAGEGATE_BROKEN=n): 1 never frees the ANSI name (a pool leak per image); 2 logs the image base
 * with %08X (on x64 the upper half of every address is lost).
 */
#include <ntddk.h>
#include <ntstrsafe.h>

static EX_RUNDOWN_REF gRundown;
static LONG gLoads, gFlagged;
static const char *const gBlocked[] = { "inject.dll", "mimikatz.exe" };

static VOID Log(PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    vDbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, Format, ap);
    va_end(ap);
}

static BOOLEAN Flagged(PCSTR Path)
{
    PCSTR file = strrchr(Path, '\\');
    ULONG i;
    file = file == NULL ? Path : file + 1;
    for (i = 0; i < RTL_NUMBER_OF(gBlocked); i++)
        if (_stricmp(file, gBlocked[i]) == 0)
            return TRUE;
    return strstr(Path, "\\Temp\\") != NULL;
}

static VOID OnImage(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    ANSI_STRING ansi;
    CHAR verdict[48];
    BOOLEAN flagged = FALSE;

    if (!ExAcquireRundownProtection(&gRundown))
        return;
    InterlockedIncrement(&gLoads);
    if (FullImageName != NULL && NT_SUCCESS(RtlUnicodeStringToAnsiString(&ansi, FullImageName, TRUE))) {
        flagged = Flagged(ansi.Buffer);
#if IMAGEGATE_BROKEN != 1
        RtlFreeAnsiString(&ansi);
#endif
    }
    if (flagged)
        InterlockedIncrement(&gFlagged);
    RtlStringCbPrintfA(verdict, sizeof(verdict), "flagged=%u", flagged);
#if IMAGEGATE_BROKEN == 2
    Log("IMAGEGATE LOAD pid=%Iu base=%08X size=%Iu %s\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize, verdict);
#else
    Log("IMAGEGATE LOAD pid=%Iu base=%p size=%Iu %s\n", (ULONG_PTR)ProcessId, ImageInfo->ImageBase, ImageInfo->ImageSize, verdict);
#endif
    ExReleaseRundownProtection(&gRundown);
}

static VOID ImageGateUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    PsRemoveLoadImageNotifyRoutine(OnImage);
    ExWaitForRundownProtectionRelease(&gRundown);
    Log("IMAGEGATE UNLOAD loads=%ld flagged=%ld\n", gLoads, gFlagged);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializeRundownProtection(&gRundown);
    gLoads = gFlagged = 0;
    status = PsSetLoadImageNotifyRoutine(OnImage);
    if (!NT_SUCCESS(status))
        return status;
    DriverObject->DriverUnload = ImageGateUnload;
    return STATUS_SUCCESS;
}
