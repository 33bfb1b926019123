/* psharness WDK shim: ntddk.h = wdm.h plus what the WDK declares for non-WDM drivers: the process, thread and
   image notify routines and their structures. */
#ifndef PSHARNESS_NTDDK_H
#define PSHARNESS_NTDDK_H
#include "wdm.h"
PSH_EXTERN_C_BEGIN
/* ---- process/thread/image notification */
typedef VOID (*PCREATE_PROCESS_NOTIFY_ROUTINE)(HANDLE ParentId, HANDLE ProcessId, BOOLEAN Create);
typedef VOID (*PCREATE_THREAD_NOTIFY_ROUTINE)(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);

typedef struct _IMAGE_INFO {
    union {
        ULONG Properties;
        struct {
            ULONG ImageAddressingMode : 8;
            ULONG SystemModeImage : 1;
            ULONG ImageMappedToAllPids : 1;
            ULONG ExtendedInfoPresent : 1;
            ULONG MachineTypeMismatch : 1;
            ULONG ImageSignatureLevel : 4;
            ULONG ImageSignatureType : 3;
            ULONG ImagePartialMap : 1;
            ULONG Reserved : 12;
        };
    };
    PVOID ImageBase;
    ULONG ImageSelector;
    SIZE_T ImageSize;
    ULONG ImageSectionNumber;
} IMAGE_INFO, *PIMAGE_INFO;
_Static_assert(sizeof(IMAGE_INFO) == PSH_X64(40, 20), "IMAGE_INFO size");
_Static_assert(__builtin_offsetof(IMAGE_INFO, ImageSize) == PSH_X64(24, 12), "IMAGE_INFO.ImageSize");
#define IMAGE_ADDRESSING_MODE_32BIT 3

typedef VOID (*PLOAD_IMAGE_NOTIFY_ROUTINE)(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo);

typedef struct _PS_CREATE_NOTIFY_INFO {
    SIZE_T Size;
    union {
        ULONG Flags;
        struct {
            ULONG FileOpenNameAvailable : 1;
            ULONG IsSubsystemProcess : 1;
            ULONG Reserved : 30;
        };
    };
    HANDLE ParentProcessId;
    CLIENT_ID CreatingThreadId;
    PFILE_OBJECT FileObject;
    PCUNICODE_STRING ImageFileName;
    PCUNICODE_STRING CommandLine;
    NTSTATUS CreationStatus;
} PS_CREATE_NOTIFY_INFO, *PPS_CREATE_NOTIFY_INFO;
_Static_assert(sizeof(PS_CREATE_NOTIFY_INFO) == PSH_X64(0x48, 0x24), "PS_CREATE_NOTIFY_INFO size");
_Static_assert(__builtin_offsetof(PS_CREATE_NOTIFY_INFO, ImageFileName) == PSH_X64(0x30, 0x18), "PS_CREATE_NOTIFY_INFO.ImageFileName");
_Static_assert(__builtin_offsetof(PS_CREATE_NOTIFY_INFO, CreationStatus) == PSH_X64(0x40, 0x20), "PS_CREATE_NOTIFY_INFO.CreationStatus");

typedef VOID (*PCREATE_PROCESS_NOTIFY_ROUTINE_EX)(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo);

typedef enum _PSCREATEPROCESSNOTIFYTYPE { PsCreateProcessNotifySubsystems = 0 } PSCREATEPROCESSNOTIFYTYPE;
typedef enum _PSCREATETHREADNOTIFYTYPE { PsCreateThreadNotifyNonSystem = 0, PsCreateThreadNotifySubsystems = 1 } PSCREATETHREADNOTIFYTYPE;
#define PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE 0x1

NTKERNELAPI NTSTATUS PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine, BOOLEAN Remove) KIMPORT(PsSetCreateProcessNotifyRoutine);
NTKERNELAPI NTSTATUS PsSetCreateProcessNotifyRoutineEx(PCREATE_PROCESS_NOTIFY_ROUTINE_EX NotifyRoutine, BOOLEAN Remove) KIMPORT(PsSetCreateProcessNotifyRoutineEx);
NTKERNELAPI NTSTATUS PsSetCreateProcessNotifyRoutineEx2(PSCREATEPROCESSNOTIFYTYPE NotifyType, PVOID NotifyInformation, BOOLEAN Remove) KIMPORT(PsSetCreateProcessNotifyRoutineEx2);
NTKERNELAPI NTSTATUS PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine) KIMPORT(PsSetCreateThreadNotifyRoutine);
NTKERNELAPI NTSTATUS PsSetCreateThreadNotifyRoutineEx(PSCREATETHREADNOTIFYTYPE NotifyType, PVOID NotifyInformation) KIMPORT(PsSetCreateThreadNotifyRoutineEx);
NTKERNELAPI NTSTATUS PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine) KIMPORT(PsRemoveCreateThreadNotifyRoutine);
NTKERNELAPI NTSTATUS PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine) KIMPORT(PsSetLoadImageNotifyRoutine);
NTKERNELAPI NTSTATUS PsSetLoadImageNotifyRoutineEx(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine, ULONG_PTR Flags) KIMPORT(PsSetLoadImageNotifyRoutineEx);
NTKERNELAPI NTSTATUS PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine) KIMPORT(PsRemoveLoadImageNotifyRoutine);
/* process-specific access rights (ntddk.h) */
#define PROCESS_TERMINATE 0x0001
#define PROCESS_VM_OPERATION 0x0008
#define PROCESS_VM_READ 0x0010
#define PROCESS_VM_WRITE 0x0020
#define PROCESS_QUERY_INFORMATION 0x0400

PSH_EXTERN_C_END
#endif /* PSHARNESS_NTDDK_H */
