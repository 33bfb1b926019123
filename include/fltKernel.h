/* psharness WDK shim: fltKernel.h, the filter manager's interface for file-system minifilters. The structures keep
   the WDK's layouts on x86 and x64 (the asserts below); the routines the harness models are declared, the rest are
   left out so that a driver using them fails to link with the routine's name rather than running against a guess. */
#ifndef PSHARNESS_FLTKERNEL_H
#define PSHARNESS_FLTKERNEL_H
#include "ntifs.h"
PSH_EXTERN_C_BEGIN

typedef struct _FLT_FILTER *PFLT_FILTER;
typedef struct _FLT_VOLUME *PFLT_VOLUME;
typedef struct _FLT_INSTANCE *PFLT_INSTANCE;
typedef struct _FLT_PORT *PFLT_PORT;
typedef PVOID PFLT_CONTEXT;
typedef struct _KTRANSACTION *PKTRANSACTION;

#define IRP_MJ_SET_INFORMATION          0x06
#define IRP_MJ_OPERATION_END            ((UCHAR)0x80)

typedef enum _FILE_INFORMATION_CLASS {
    FileBasicInformation = 4, FileRenameInformation = 10, FileDispositionInformation = 13, FileEndOfFileInformation = 20,
    FileDispositionInformationEx = 64, FileRenameInformationEx = 65
} FILE_INFORMATION_CLASS, *PFILE_INFORMATION_CLASS;
typedef struct _FILE_RENAME_INFORMATION {
    union { BOOLEAN ReplaceIfExists; ULONG Flags; };
    HANDLE RootDirectory;
    ULONG FileNameLength;
    WCHAR FileName[1];
} FILE_RENAME_INFORMATION, *PFILE_RENAME_INFORMATION;
typedef struct _FILE_DISPOSITION_INFORMATION { BOOLEAN DeleteFile; } FILE_DISPOSITION_INFORMATION, *PFILE_DISPOSITION_INFORMATION;

/* FLT_PARAMETERS: the members of the operations the harness raises */
typedef union _FLT_PARAMETERS {
    struct {
        PVOID SecurityContext; ULONG Options; USHORT POINTER_ALIGNMENT FileAttributes; USHORT ShareAccess;
        ULONG POINTER_ALIGNMENT EaLength; PVOID EaBuffer; LARGE_INTEGER AllocationSize;
    } Create;
    struct { ULONG Length; ULONG POINTER_ALIGNMENT Key; LARGE_INTEGER ByteOffset; PVOID ReadBuffer; PMDL MdlAddress; } Read;
    struct { ULONG Length; ULONG POINTER_ALIGNMENT Key; LARGE_INTEGER ByteOffset; PVOID WriteBuffer; PMDL MdlAddress; } Write;
    struct {
        ULONG Length; FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass; PFLT_INSTANCE ParentOfTarget;
        union { struct { BOOLEAN ReplaceIfExists; BOOLEAN AdvanceOnly; }; ULONG ClusterCount; HANDLE DeleteHandle; };
        PVOID InfoBuffer;
    } SetFileInformation;
    struct { PVOID Argument1; PVOID Argument2; PVOID Argument3; PVOID Argument4; PVOID Argument5; LARGE_INTEGER Argument6; } Others;
} FLT_PARAMETERS, *PFLT_PARAMETERS;

typedef struct _FLT_IO_PARAMETER_BLOCK {
    ULONG IrpFlags;
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR OperationFlags;
    UCHAR Reserved;
    PFILE_OBJECT TargetFileObject;
    PFLT_INSTANCE TargetInstance;
    FLT_PARAMETERS Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;
_Static_assert(__builtin_offsetof(FLT_IO_PARAMETER_BLOCK, Parameters) == PSH_X64(0x18, 0x10), "FLT_IO_PARAMETER_BLOCK.Parameters");
_Static_assert(sizeof(FLT_IO_PARAMETER_BLOCK) == PSH_X64(0x48, 0x30), "FLT_IO_PARAMETER_BLOCK size");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, Create.ShareAccess) == PSH_X64(0x12, 0x0A), "FLT_PARAMETERS.Create.ShareAccess");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, SetFileInformation.InfoBuffer) == PSH_X64(0x20, 0x10), "FLT_PARAMETERS.SetFileInformation.InfoBuffer");

typedef ULONG FLT_CALLBACK_DATA_FLAGS;
#define FLTFL_CALLBACK_DATA_IRP_OPERATION      0x00000001
#define FLTFL_CALLBACK_DATA_FAST_IO_OPERATION  0x00000002
#define FLTFL_CALLBACK_DATA_GENERATED_IO       0x00010000
#define FLTFL_CALLBACK_DATA_DIRTY              0x80000000
typedef struct _FLT_CALLBACK_DATA {
    FLT_CALLBACK_DATA_FLAGS Flags;
    PETHREAD CONST Thread;
    PFLT_IO_PARAMETER_BLOCK CONST Iopb;
    IO_STATUS_BLOCK IoStatus;
    struct _FLT_TAG_DATA_BUFFER *TagData;
    union { struct { LIST_ENTRY QueueLinks; PVOID QueueContext[2]; }; PVOID FilterContext[4]; };
    KPROCESSOR_MODE RequestorMode;
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;
_Static_assert(__builtin_offsetof(FLT_CALLBACK_DATA, IoStatus) == PSH_X64(0x18, 0x0C), "FLT_CALLBACK_DATA.IoStatus");
_Static_assert(sizeof(FLT_CALLBACK_DATA) == PSH_X64(0x58, 0x2C), "FLT_CALLBACK_DATA size");

typedef struct _FLT_RELATED_OBJECTS {
    USHORT CONST Size;
    USHORT CONST TransactionContext;
    PFLT_FILTER CONST Filter;
    PFLT_VOLUME CONST Volume;
    PFLT_INSTANCE CONST Instance;
    PFILE_OBJECT CONST FileObject;
    PKTRANSACTION CONST Transaction;
} FLT_RELATED_OBJECTS, *PFLT_RELATED_OBJECTS;
typedef CONST struct _FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;
_Static_assert(sizeof(FLT_RELATED_OBJECTS) == PSH_X64(0x30, 0x18), "FLT_RELATED_OBJECTS size");

typedef enum _FLT_PREOP_CALLBACK_STATUS {
    FLT_PREOP_SUCCESS_WITH_CALLBACK, FLT_PREOP_SUCCESS_NO_CALLBACK, FLT_PREOP_PENDING, FLT_PREOP_DISALLOW_FASTIO,
    FLT_PREOP_COMPLETE, FLT_PREOP_SYNCHRONIZE, FLT_PREOP_DISALLOW_FSFILTER_IO
} FLT_PREOP_CALLBACK_STATUS, *PFLT_PREOP_CALLBACK_STATUS;
typedef enum _FLT_POSTOP_CALLBACK_STATUS {
    FLT_POSTOP_FINISHED_PROCESSING, FLT_POSTOP_MORE_PROCESSING_REQUIRED, FLT_POSTOP_DISALLOW_FSFILTER_IO
} FLT_POSTOP_CALLBACK_STATUS, *PFLT_POSTOP_CALLBACK_STATUS;
typedef ULONG FLT_POST_OPERATION_FLAGS;
#define FLTFL_POST_OPERATION_DRAINING 0x00000001

typedef FLT_PREOP_CALLBACK_STATUS (*PFLT_PRE_OPERATION_CALLBACK)(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext);
typedef FLT_POSTOP_CALLBACK_STATUS (*PFLT_POST_OPERATION_CALLBACK)(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
    FLT_POST_OPERATION_FLAGS Flags);

typedef ULONG FLT_OPERATION_REGISTRATION_FLAGS;
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO 0x00000002
typedef struct _FLT_OPERATION_REGISTRATION {
    UCHAR MajorFunction;
    FLT_OPERATION_REGISTRATION_FLAGS Flags;
    PFLT_PRE_OPERATION_CALLBACK PreOperation;
    PFLT_POST_OPERATION_CALLBACK PostOperation;
    PVOID Reserved1;
} FLT_OPERATION_REGISTRATION, *PFLT_OPERATION_REGISTRATION;
_Static_assert(sizeof(FLT_OPERATION_REGISTRATION) == PSH_X64(0x20, 0x14), "FLT_OPERATION_REGISTRATION size");

typedef ULONG FLT_FILTER_UNLOAD_FLAGS;
#define FLTFL_FILTER_UNLOAD_MANDATORY 0x00000001
typedef NTSTATUS (*PFLT_FILTER_UNLOAD_CALLBACK)(FLT_FILTER_UNLOAD_FLAGS Flags);
typedef ULONG FLT_INSTANCE_SETUP_FLAGS;
#define FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT 0x00000001
#define FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT    0x00000002
#define FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME 0x00000004
typedef enum _FLT_FILESYSTEM_TYPE { FLT_FSTYPE_UNKNOWN, FLT_FSTYPE_RAW, FLT_FSTYPE_NTFS, FLT_FSTYPE_FAT } FLT_FILESYSTEM_TYPE, *PFLT_FILESYSTEM_TYPE;
#define FILE_DEVICE_DISK_FILE_SYSTEM 0x00000008
#define FILE_DEVICE_NETWORK_FILE_SYSTEM 0x00000014
typedef NTSTATUS (*PFLT_INSTANCE_SETUP_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_SETUP_FLAGS Flags, DEVICE_TYPE VolumeDeviceType,
    FLT_FILESYSTEM_TYPE VolumeFilesystemType);
typedef ULONG FLT_INSTANCE_QUERY_TEARDOWN_FLAGS;
typedef NTSTATUS (*PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags);
typedef ULONG FLT_INSTANCE_TEARDOWN_FLAGS;
typedef VOID (*PFLT_INSTANCE_TEARDOWN_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_TEARDOWN_FLAGS Reason);

typedef ULONG FLT_REGISTRATION_FLAGS;
#define FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP 0x00000001
#define FLT_REGISTRATION_VERSION_0200 0x0200
#define FLT_REGISTRATION_VERSION_0201 0x0201
#define FLT_REGISTRATION_VERSION_0202 0x0202
#define FLT_REGISTRATION_VERSION_0203 0x0203
#define FLT_REGISTRATION_VERSION FLT_REGISTRATION_VERSION_0202
typedef struct _FLT_REGISTRATION {
    USHORT Size;
    USHORT Version;
    FLT_REGISTRATION_FLAGS Flags;
    CONST PVOID ContextRegistration;
    CONST FLT_OPERATION_REGISTRATION *OperationRegistration;
    PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
    PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
    PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK InstanceQueryTeardownCallback;
    PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownStartCallback;
    PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownCompleteCallback;
    PVOID GenerateFileNameCallback;
    PVOID NormalizeNameComponentCallback;
    PVOID NormalizeContextCleanupCallback;
    PVOID TransactionNotificationCallback;
    PVOID NormalizeNameComponentExCallback;
} FLT_REGISTRATION, *PFLT_REGISTRATION;
_Static_assert(__builtin_offsetof(FLT_REGISTRATION, InstanceSetupCallback) == PSH_X64(0x20, 0x14), "FLT_REGISTRATION.InstanceSetupCallback");

typedef USHORT FLT_FILE_NAME_PARSED_FLAGS;
#define FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT 0x0001
#define FLTFL_FILE_NAME_PARSED_EXTENSION       0x0002
#define FLTFL_FILE_NAME_PARSED_STREAM          0x0004
#define FLTFL_FILE_NAME_PARSED_PARENT_DIR      0x0008
typedef ULONG FLT_FILE_NAME_OPTIONS;
#define FLT_FILE_NAME_NORMALIZED  0x01
#define FLT_FILE_NAME_OPENED      0x02
#define FLT_FILE_NAME_SHORT       0x03
#define FLT_FILE_NAME_QUERY_DEFAULT                0x0100
#define FLT_FILE_NAME_QUERY_CACHE_ONLY             0x0200
#define FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY        0x0300
#define FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP 0x0400
typedef struct _FLT_FILE_NAME_INFORMATION {
    USHORT Size;
    FLT_FILE_NAME_PARSED_FLAGS NamesParsed;
    FLT_FILE_NAME_OPTIONS Format;
    UNICODE_STRING Name;
    UNICODE_STRING Volume;
    UNICODE_STRING Share;
    UNICODE_STRING Extension;
    UNICODE_STRING Stream;
    UNICODE_STRING FinalComponent;
    UNICODE_STRING ParentDir;
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;
_Static_assert(sizeof(FLT_FILE_NAME_INFORMATION) == PSH_X64(0x78, 0x40), "FLT_FILE_NAME_INFORMATION size");

#define STATUS_FLT_DO_NOT_ATTACH ((NTSTATUS)0xC01C000FL)
#define STATUS_FLT_DO_NOT_DETACH ((NTSTATUS)0xC01C0010L)
#define STATUS_FLT_NOT_INITIALIZED ((NTSTATUS)0xC01C0007L)
#define STATUS_FLT_INVALID_NAME_REQUEST ((NTSTATUS)0xC01C0005L)

#define FLTAPI
FLTAPI NTSTATUS FltRegisterFilter(PDRIVER_OBJECT Driver, CONST FLT_REGISTRATION *Registration, PFLT_FILTER *RetFilter) KIMPORT(FltRegisterFilter);
FLTAPI NTSTATUS FltStartFiltering(PFLT_FILTER Filter) KIMPORT(FltStartFiltering);
FLTAPI VOID FltUnregisterFilter(PFLT_FILTER Filter) KIMPORT(FltUnregisterFilter);
FLTAPI NTSTATUS FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
    PFLT_FILE_NAME_INFORMATION *FileNameInformation) KIMPORT(FltGetFileNameInformation);
FLTAPI NTSTATUS FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation) KIMPORT(FltParseFileNameInformation);
FLTAPI VOID FltReferenceFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation) KIMPORT(FltReferenceFileNameInformation);
FLTAPI VOID FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation) KIMPORT(FltReleaseFileNameInformation);
FLTAPI ULONG FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData) KIMPORT(FltGetRequestorProcessId);
FLTAPI BOOLEAN FltDoCompletionProcessingWhenSafe(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
    FLT_POST_OPERATION_FLAGS Flags, PFLT_POST_OPERATION_CALLBACK SafePostCallback, PFLT_POSTOP_CALLBACK_STATUS RetPostOperationStatus)
    KIMPORT(FltDoCompletionProcessingWhenSafe);

/* communication ports: a server port the user-mode service connects to (FilterConnectCommunicationPort) */
#define FLT_PORT_CONNECT 0x0001
#define FLT_PORT_ALL_ACCESS (FLT_PORT_CONNECT | STANDARD_RIGHTS_ALL)
typedef NTSTATUS (*PFLT_CONNECT_NOTIFY)(PFLT_PORT ClientPort, PVOID ServerPortCookie, PVOID ConnectionContext, ULONG SizeOfContext,
    PVOID *ConnectionPortCookie);
typedef VOID (*PFLT_DISCONNECT_NOTIFY)(PVOID ConnectionCookie);
typedef NTSTATUS (*PFLT_MESSAGE_NOTIFY)(PVOID PortCookie, PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
    PULONG ReturnOutputBufferLength);
FLTAPI NTSTATUS FltBuildDefaultSecurityDescriptor(PSECURITY_DESCRIPTOR *SecurityDescriptor, ACCESS_MASK DesiredAccess)
    KIMPORT(FltBuildDefaultSecurityDescriptor);
FLTAPI VOID FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor) KIMPORT(FltFreeSecurityDescriptor);
FLTAPI NTSTATUS FltCreateCommunicationPort(PFLT_FILTER Filter, PFLT_PORT *ServerPort, POBJECT_ATTRIBUTES ObjectAttributes, PVOID ServerPortCookie,
    PFLT_CONNECT_NOTIFY ConnectNotifyCallback, PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback, PFLT_MESSAGE_NOTIFY MessageNotifyCallback,
    LONG MaxConnections) KIMPORT(FltCreateCommunicationPort);
FLTAPI VOID FltCloseCommunicationPort(PFLT_PORT ServerPort) KIMPORT(FltCloseCommunicationPort);
FLTAPI VOID FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort) KIMPORT(FltCloseClientPort);
FLTAPI NTSTATUS FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort, PVOID SenderBuffer, ULONG SenderBufferLength, PVOID ReplyBuffer,
    PULONG ReplyLength, PLARGE_INTEGER Timeout) KIMPORT(FltSendMessage);
#define FLT_IS_IRP_OPERATION(Data) (((Data)->Flags & FLTFL_CALLBACK_DATA_IRP_OPERATION) != 0)

PSH_EXTERN_C_END
#endif /* PSHARNESS_FLTKERNEL_H */
