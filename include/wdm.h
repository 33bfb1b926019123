/*
 * psharness WDK shim: wdm.h, the base of the WDK's kernel headers (ntddk.h and ntifs.h include it): the subset that
 * notify-callback drivers use, for drivers compiled to
 * WebAssembly (wasm32) and run against psharness's simulated kernel.
 *
 * Pointer model: x86 (wasm32, ILP32) or, with _WIN64 (psharness compiles every C driver for both), x64 (wasm64 with
 * LLP64 types: LONG and ULONG 4 bytes; pointers, SIZE_T, ULONG_PTR and HANDLE 8). Structures have the layouts of
 * the target, checked by _Static_assert. WCHAR is 16-bit (compile with -fshort-wchar; psharness does). Kernel routines are imports from the module "ntoskrnl"; routines a driver declares itself (as the
 * WDK's undocumented ones are) arrive as imports from "env" and are served too.
 */
#ifndef PSHARNESS_WDM_H
#define PSHARNESS_WDM_H
#include "psh_prologue.h"
PSH_EXTERN_C_BEGIN

#ifdef _WIN64
_Static_assert(sizeof(void *) == 8, "_WIN64: psharness compiles x64 drivers as wasm64");
#define PSH_X64(x64, x86) x64
#else
_Static_assert(sizeof(void *) == 4, "x86: psharness compiles x86 drivers as wasm32");
#define PSH_X64(x64, x86) x86
#endif
_Static_assert(sizeof(L'a') == 2, "WCHAR must be 16-bit: compile with -fshort-wchar");

#define KIMPORT(name) __attribute__((import_module("ntoskrnl"), import_name(#name)))

/* PAGED_CODE(): code in a pageable section running at DISPATCH_LEVEL or above faults on a trimmed page (Driver
   Verifier trims them: "Force IRQL checking"): bug check 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL, P3 = 8 (execute). */
#define PAGED_CODE() do { KIRQL _pc_irql = KeGetCurrentIrql(); if (_pc_irql > 1) KeBugCheckEx(0xD1, 0, _pc_irql, 8, 0); } while (0)
/* NT_ASSERT in a checked build (DBG=1, as the WDK's Debug configuration sets): a false expression raises
   STATUS_ASSERTION_FAILURE (int 2c); with no kernel debugger attached nothing handles it and the kernel stops with
   0x1E KMODE_EXCEPTION_NOT_HANDLED, P1 0xC0000420 ([DOC] NT_ASSERT; bug-check-0x1e). In a free build it is empty.
   ASSERT calls RtlAssert, which reports to a debugger: psharness models no debugger, so ASSERT is empty (a choice). */
#define DbgRaiseAssertionFailure() KeBugCheckEx(0x1E, 0xC0000420UL, 0, 0, 0)
#if defined(DBG) && DBG
#define NT_ASSERT(x) ((!(x)) ? (__annotation(L"Debug", L"AssertFail", L#x), DbgRaiseAssertionFailure(), FALSE) : TRUE)
#else
#define NT_ASSERT(x) ((void)0)
#endif
#define NT_ASSERTMSG(m, x) NT_ASSERT(x)
#define NT_ASSERTMSGW(m, x) NT_ASSERT(x)
#define NT_VERIFY(x) (!!(x))
#define ASSERT(x) ((void)0)
#define ASSERTMSG(m, x) ((void)0)
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
/* The WDK defines these for compilers that honour #pragma alloc_text and data_seg, and drivers guard their pragmas
   with them. psharness honours alloc_text and code_seg (PAGE and INIT code: docs/verifier.md); data sections are not
   modelled. */
#define ALLOC_PRAGMA 1
#define ALLOC_DATA_PRAGMA 1

#ifndef NULL
#ifdef __cplusplus
#define NULL 0
#else
#define NULL ((void *)0)
#endif
#endif
#define TRUE 1
#define FALSE 0

/* ---- base types (ILP32 on x86, LLP64 on x64) */
typedef void VOID, *PVOID, **PPVOID;
typedef const void *PCVOID;
typedef char CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char *PCSTR, *PCCH, *LPCSTR;
#ifdef UNICODE
typedef unsigned short *LPTSTR;
#else
typedef char *LPTSTR;
#endif
typedef signed char CCHAR;
typedef unsigned char UCHAR, *PUCHAR, BOOLEAN, *PBOOLEAN, BYTE;
typedef short SHORT, CSHORT, *PSHORT;
typedef unsigned short USHORT, *PUSHORT, WORD;
typedef wchar_t WCHAR, *PWCHAR, *PWCH, *PWSTR, *LPWSTR, *PZZWSTR, *NWPSTR;
typedef const WCHAR *PCWSTR, *PCWCH, *LPCWSTR, *PCZZWSTR;
typedef int INT, BOOL;
typedef unsigned int UINT;
#ifdef _WIN64
typedef int LONG, *PLONG;
typedef unsigned int ULONG, *PULONG, DWORD;
#else
typedef long LONG, *PLONG;
typedef unsigned long ULONG, *PULONG, DWORD;
#endif
typedef long long LONGLONG, LONG64, *PLONGLONG;
typedef unsigned long long ULONGLONG, ULONG64, *PULONGLONG, DWORD64;
typedef LONG NTSTATUS, *PNTSTATUS;
#ifdef _WIN64
typedef long long LONG_PTR, *PLONG_PTR;
typedef unsigned long long ULONG_PTR, *PULONG_PTR, SIZE_T, *PSIZE_T, DWORD_PTR;
#else
typedef LONG LONG_PTR, *PLONG_PTR;
typedef ULONG ULONG_PTR, *PULONG_PTR, SIZE_T, *PSIZE_T, DWORD_PTR;
#endif
typedef LONG_PTR SSIZE_T;
_Static_assert(sizeof(LONG) == 4 && sizeof(ULONG) == 4, "LONG and ULONG are 4 bytes on every Windows target");
_Static_assert(sizeof(ULONG_PTR) == sizeof(void *) && sizeof(SIZE_T) == sizeof(void *), "ULONG_PTR and SIZE_T are pointer-sized");
typedef PVOID HANDLE, *PHANDLE;
typedef ULONG ACCESS_MASK, *PACCESS_MASK;
typedef UCHAR KIRQL, *PKIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;
typedef ULONG64 POOL_FLAGS;
typedef union _LARGE_INTEGER { struct { ULONG LowPart; LONG HighPart; }; LONGLONG QuadPart; } LARGE_INTEGER, *PLARGE_INTEGER;

/* ---- the Interlocked family: compiler intrinsics on Windows, inline here. The markers tell the simulated kernel
 * that the load and store between them are one atomic operation: no other CPU runs inside it, and it orders with
 * every other Interlocked operation on the same address (docs/concurrency.md). */
__attribute__((import_module("psharness"), import_name("atomic_begin"))) void __psh_atomic_begin(volatile void *Address);
__attribute__((import_module("psharness"), import_name("atomic_end"))) void __psh_atomic_end(void);
#define __PSH_ATOMIC(p, T, expr) do { __psh_atomic_begin((p)); __r = (expr); __psh_atomic_end(); } while (0)
#define __PSH_ILK(T, name, op) static inline T name(T volatile *Target, T Value) { T __r; __PSH_ATOMIC(Target, T, __atomic_##op(Target, Value, __ATOMIC_SEQ_CST)); return __r; }
__PSH_ILK(LONG, InterlockedExchange, exchange_n)
__PSH_ILK(LONG, InterlockedExchangeAdd, fetch_add)
__PSH_ILK(LONG, InterlockedAnd, fetch_and)
__PSH_ILK(LONG, InterlockedOr, fetch_or)
__PSH_ILK(LONG, InterlockedXor, fetch_xor)
__PSH_ILK(LONG64, InterlockedExchange64, exchange_n)
__PSH_ILK(LONG64, InterlockedExchangeAdd64, fetch_add)
__PSH_ILK(LONG64, InterlockedAnd64, fetch_and)
__PSH_ILK(LONG64, InterlockedOr64, fetch_or)
__PSH_ILK(LONG64, InterlockedXor64, fetch_xor)
static inline LONG InterlockedIncrement(LONG volatile *Addend) { LONG __r; __PSH_ATOMIC(Addend, LONG, __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG InterlockedDecrement(LONG volatile *Addend) { LONG __r; __PSH_ATOMIC(Addend, LONG, __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG InterlockedAdd(LONG volatile *Addend, LONG Value) { LONG __r; __PSH_ATOMIC(Addend, LONG, __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG64 InterlockedIncrement64(LONG64 volatile *Addend) { LONG64 __r; __PSH_ATOMIC(Addend, LONG64, __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG64 InterlockedDecrement64(LONG64 volatile *Addend) { LONG64 __r; __PSH_ATOMIC(Addend, LONG64, __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value) { LONG64 __r; __PSH_ATOMIC(Addend, LONG64, __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST)); return __r; }
static inline LONG InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comparand) {
    __psh_atomic_begin(Destination);
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    __psh_atomic_end();
    return Comparand; /* the initial value, whether or not it was replaced */
}
static inline LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 Exchange, LONG64 Comparand) {
    __psh_atomic_begin(Destination);
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    __psh_atomic_end();
    return Comparand;
}
static inline PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value) { PVOID __r; __PSH_ATOMIC(Target, PVOID, __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST)); return __r; }
static inline PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange, PVOID Comparand) {
    __psh_atomic_begin(Destination);
    __atomic_compare_exchange_n(Destination, &Comparand, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    __psh_atomic_end();
    return Comparand;
}
/* MSVC's intrinsic names (intrin.h): under -fms-extensions clang would compile them as its own builtins, atomics the
   simulated kernel could not tell from plain loads and stores (a false race); they are the marked functions above. */
#define _InterlockedIncrement InterlockedIncrement
#define _InterlockedDecrement InterlockedDecrement
#define _InterlockedExchange InterlockedExchange
#define _InterlockedExchangeAdd InterlockedExchangeAdd
#define _InterlockedCompareExchange InterlockedCompareExchange
#define _InterlockedAnd InterlockedAnd
#define _InterlockedOr InterlockedOr
#define _InterlockedXor InterlockedXor
#define _InterlockedIncrement64 InterlockedIncrement64
#define _InterlockedDecrement64 InterlockedDecrement64
#define _InterlockedExchange64 InterlockedExchange64
#define _InterlockedExchangeAdd64 InterlockedExchangeAdd64
#define _InterlockedCompareExchange64 InterlockedCompareExchange64
#define _InterlockedAnd64 InterlockedAnd64
#define _InterlockedOr64 InterlockedOr64
#define _InterlockedXor64 InterlockedXor64
#define _InterlockedExchangePointer InterlockedExchangePointer
#define _InterlockedCompareExchangePointer InterlockedCompareExchangePointer

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define FIELD_OFFSET(type, field) ((LONG)__builtin_offsetof(type, field))
/* offsetof, not &((type *)0)->field: the NULL sanitizer would trap on the latter */
#define CONTAINING_RECORD(address, type, field) ((type *)((PCHAR)(address) - __builtin_offsetof(type, field)))
#define RTL_NUMBER_OF(A) (sizeof(A) / sizeof((A)[0]))
#define ARRAYSIZE(A) RTL_NUMBER_OF(A)
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif

/* ---- status codes (ntstatus.h) */
#define STATUS_SUCCESS                   ((NTSTATUS)0x00000000L)
#define STATUS_UNSUCCESSFUL              ((NTSTATUS)0xC0000001L)
#define STATUS_NOT_IMPLEMENTED           ((NTSTATUS)0xC0000002L)
#define STATUS_INVALID_CID               ((NTSTATUS)0xC000000BL)
#define STATUS_INVALID_PARAMETER         ((NTSTATUS)0xC000000DL)
#define STATUS_INVALID_DEVICE_REQUEST    ((NTSTATUS)0xC0000010L)
#define STATUS_NO_MEMORY                 ((NTSTATUS)0xC0000017L)
#define STATUS_ACCESS_DENIED             ((NTSTATUS)0xC0000022L)
#define STATUS_BUFFER_TOO_SMALL          ((NTSTATUS)0xC0000023L)
#define STATUS_OBJECT_NAME_NOT_FOUND     ((NTSTATUS)0xC0000034L)
#define STATUS_OBJECT_NAME_COLLISION     ((NTSTATUS)0xC0000035L)
#define STATUS_PROCEDURE_NOT_FOUND       ((NTSTATUS)0xC000007AL)
#define STATUS_INSUFFICIENT_RESOURCES    ((NTSTATUS)0xC000009AL)
#define STATUS_INVALID_PARAMETER_2       ((NTSTATUS)0xC00000F0L)
#define STATUS_NOT_FOUND                 ((NTSTATUS)0xC0000225L)
#define STATUS_NOT_SUPPORTED             ((NTSTATUS)0xC00000BBL)
#define STATUS_BUFFER_OVERFLOW           ((NTSTATUS)0x80000005L)
#define STATUS_INFO_LENGTH_MISMATCH      ((NTSTATUS)0xC0000004L)
#define STATUS_INVALID_HANDLE            ((NTSTATUS)0xC0000008L)
#define STATUS_OBJECT_TYPE_MISMATCH      ((NTSTATUS)0xC0000024L)
#define STATUS_ACCESS_VIOLATION          ((NTSTATUS)0xC0000005L)

/* ---- strings and lists */
typedef struct _UNICODE_STRING {
    USHORT Length;
    USHORT MaximumLength;
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;
typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, ANSI_STRING, *PSTRING, *PANSI_STRING;
_Static_assert(sizeof(UNICODE_STRING) == PSH_X64(16, 8), "UNICODE_STRING layout");
_Static_assert(__builtin_offsetof(UNICODE_STRING, Buffer) == PSH_X64(8, 4), "UNICODE_STRING.Buffer");

#define RTL_CONSTANT_STRING(s) { sizeof(s) - sizeof((s)[0]), sizeof(s), (PWSTR)(s) }
#define DECLARE_CONST_UNICODE_STRING(name, s) const UNICODE_STRING name = RTL_CONSTANT_STRING(s)

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

FORCEINLINE VOID InitializeListHead(PLIST_ENTRY ListHead) { ListHead->Flink = ListHead->Blink = ListHead; }
FORCEINLINE BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead) { return (BOOLEAN)(ListHead->Flink == ListHead); }
FORCEINLINE BOOLEAN RemoveEntryList(PLIST_ENTRY Entry) {
    PLIST_ENTRY Blink = Entry->Blink, Flink = Entry->Flink;
    Blink->Flink = Flink;
    Flink->Blink = Blink;
    return (BOOLEAN)(Flink == Blink);
}
FORCEINLINE PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead) {
    PLIST_ENTRY Entry = ListHead->Flink;
    RemoveEntryList(Entry);
    return Entry;
}
FORCEINLINE PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead) {
    PLIST_ENTRY Entry = ListHead->Blink;
    RemoveEntryList(Entry);
    return Entry;
}
FORCEINLINE VOID InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry) {
    PLIST_ENTRY Blink = ListHead->Blink;
    Entry->Flink = ListHead;
    Entry->Blink = Blink;
    Blink->Flink = Entry;
    ListHead->Blink = Entry;
}
FORCEINLINE VOID InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry) {
    PLIST_ENTRY Flink = ListHead->Flink;
    Entry->Flink = Flink;
    Entry->Blink = ListHead;
    Flink->Blink = Entry;
    ListHead->Flink = Entry;
}

/* ---- kernel objects (opaque, as in the WDK) */
typedef struct _KPROCESS *PKPROCESS;
typedef struct _EPROCESS *PEPROCESS;
typedef struct _ETHREAD *PETHREAD;
typedef struct _KTHREAD *PKTHREAD;
typedef struct _FILE_OBJECT *PFILE_OBJECT;
typedef struct _MDL *PMDL;
/* DISPATCHER_HEADER: 16 bytes on x86, 0x18 on x64 (its WaitListHead is a LIST_ENTRY) */
typedef struct _KEVENT { LONG Header[2]; PVOID WaitListHead[2]; } KEVENT, *PKEVENT;
_Static_assert(sizeof(KEVENT) == PSH_X64(0x18, 0x10), "KEVENT layout");
typedef struct _FAST_MUTEX {
    LONG Count;
    PVOID Owner;
    ULONG Contention;
    KEVENT Event;
    ULONG OldIrql;
} FAST_MUTEX, *PFAST_MUTEX;
_Static_assert(sizeof(FAST_MUTEX) == PSH_X64(0x38, 0x20), "FAST_MUTEX layout");

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

/* ---- I/O manager structures (x86 and x64 layouts) */
#define POINTER_ALIGNMENT __attribute__((aligned(sizeof(void *))))
#define IRP_MJ_CREATE                   0x00
#define IRP_MJ_CLOSE                    0x02
#define IRP_MJ_READ                     0x03
#define IRP_MJ_WRITE                    0x04
#define IRP_MJ_DEVICE_CONTROL           0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL  0x0f
#define IRP_MJ_SHUTDOWN                 0x10
#define IRP_MJ_CLEANUP                  0x12
#define IRP_MJ_POWER                    0x16
#define IRP_MJ_SYSTEM_CONTROL           0x17
#define IRP_MJ_PNP                      0x1b
#define IRP_MJ_MAXIMUM_FUNCTION         0x1b
#define DEVICE_TYPE ULONG
#define FILE_DEVICE_UNKNOWN             0x00000022
#define FILE_DEVICE_SECURE_OPEN         0x00000100
#define IO_NO_INCREMENT                 0
#define DO_BUFFERED_IO                  0x00000004
#define DO_DEVICE_INITIALIZING          0x00000080

typedef struct _IO_STATUS_BLOCK {
    union { NTSTATUS Status; PVOID Pointer; };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

struct _DEVICE_OBJECT;
struct _DRIVER_OBJECT;
struct _IRP;
typedef NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject, PUNICODE_STRING RegistryPath);
typedef VOID DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef NTSTATUS DRIVER_DISPATCH(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;

typedef struct _DEVICE_OBJECT {
    CSHORT Type;
    USHORT Size;
    LONG ReferenceCount;
    struct _DRIVER_OBJECT *DriverObject;
    struct _DEVICE_OBJECT *NextDevice;
    struct _DEVICE_OBJECT *AttachedDevice;
    struct _IRP *CurrentIrp;
    PVOID Timer;
    ULONG Flags;
    ULONG Characteristics;
    PVOID Vpb;
    PVOID DeviceExtension;
    ULONG DeviceType;
    CCHAR StackSize;
    UCHAR Reserved[PSH_X64(0x150 - 0x4D, 0xB8 - 0x31)];
} DEVICE_OBJECT, *PDEVICE_OBJECT;
_Static_assert(sizeof(DEVICE_OBJECT) == PSH_X64(0x150, 0xB8), "DEVICE_OBJECT size");
_Static_assert(__builtin_offsetof(DEVICE_OBJECT, DeviceExtension) == PSH_X64(0x40, 0x28), "DEVICE_OBJECT.DeviceExtension");

typedef struct _DRIVER_OBJECT {
    CSHORT Type;
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject;
    ULONG Flags;
    PVOID DriverStart;
    ULONG DriverSize;
    PVOID DriverSection;
    PVOID DriverExtension;
    UNICODE_STRING DriverName;
    PUNICODE_STRING HardwareDatabase;
    PVOID FastIoDispatch;
    PVOID DriverInit;
    PVOID DriverStartIo;
    PDRIVER_UNLOAD DriverUnload;
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT, *PDRIVER_OBJECT;
_Static_assert(sizeof(DRIVER_OBJECT) == PSH_X64(0x150, 0xA8), "DRIVER_OBJECT size");
_Static_assert(__builtin_offsetof(DRIVER_OBJECT, DriverUnload) == PSH_X64(0x68, 0x34), "DRIVER_OBJECT.DriverUnload");
_Static_assert(__builtin_offsetof(DRIVER_OBJECT, MajorFunction) == PSH_X64(0x70, 0x38), "DRIVER_OBJECT.MajorFunction");

/* the WDK packs IO_STACK_LOCATION to 4 bytes on x86 (pshpack4.h): Read.ByteOffset at +0x0C, the size 0x24 */
#ifndef _WIN64
#pragma pack(push, 4)
#endif
typedef struct _IO_STACK_LOCATION {
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR Flags;
    UCHAR Control;
    union {
        struct { ULONG OutputBufferLength; ULONG POINTER_ALIGNMENT InputBufferLength; ULONG POINTER_ALIGNMENT IoControlCode; PVOID Type3InputBuffer; } DeviceIoControl;
        /* IRP_MJ_READ / IRP_MJ_WRITE: Length shares OutputBufferLength's offset; Flags is x64's only (as in the WDK) */
        struct { ULONG Length; ULONG POINTER_ALIGNMENT Key; PSH_X64(ULONG Flags;, ) LARGE_INTEGER ByteOffset; } Read;
        struct { ULONG Length; ULONG POINTER_ALIGNMENT Key; PSH_X64(ULONG Flags;, ) LARGE_INTEGER ByteOffset; } Write;
        struct { PVOID Argument1; PVOID Argument2; PVOID Argument3; PVOID Argument4; } Others;
    } Parameters;
    PDEVICE_OBJECT DeviceObject;
    PFILE_OBJECT FileObject;
    PVOID CompletionRoutine;
    PVOID Context;
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;
#ifndef _WIN64
#pragma pack(pop)
#endif
_Static_assert(sizeof(IO_STACK_LOCATION) == PSH_X64(0x48, 0x24), "IO_STACK_LOCATION size");
_Static_assert(__builtin_offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode) == PSH_X64(0x18, 0x0C), "IO_STACK_LOCATION.IoControlCode");
_Static_assert(__builtin_offsetof(IO_STACK_LOCATION, DeviceObject) == PSH_X64(0x28, 0x14), "IO_STACK_LOCATION.DeviceObject");
_Static_assert(__builtin_offsetof(IO_STACK_LOCATION, Parameters.Read.Length) == __builtin_offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.OutputBufferLength), "IO_STACK_LOCATION.Read.Length");
_Static_assert(__builtin_offsetof(IO_STACK_LOCATION, Parameters.Read.ByteOffset) == PSH_X64(0x18, 0x0C), "IO_STACK_LOCATION.Read.ByteOffset");

typedef struct _IRP {
    CSHORT Type;
    USHORT Size;
    PMDL MdlAddress;
    ULONG Flags;
    union { struct _IRP *MasterIrp; LONG IrpCount; PVOID SystemBuffer; } AssociatedIrp;
    LIST_ENTRY ThreadListEntry;
    IO_STATUS_BLOCK IoStatus;
    KPROCESSOR_MODE RequestorMode;
    BOOLEAN PendingReturned;
    CHAR StackCount;
    CHAR CurrentLocation;
    BOOLEAN Cancel;
    KIRQL CancelIrql;
    CCHAR ApcEnvironment;
    UCHAR AllocationFlags;
    PIO_STATUS_BLOCK UserIosb;
    PKEVENT UserEvent;
    UCHAR Overlay[2 * sizeof(PVOID)];
    PVOID CancelRoutine;
    PVOID UserBuffer;
    union {
        struct {
            PVOID DriverContext[4];
            PETHREAD Thread;
            PCHAR AuxiliaryBuffer;
            LIST_ENTRY ListEntry;
            PIO_STACK_LOCATION CurrentStackLocation;
            PFILE_OBJECT OriginalFileObject;
        } Overlay;
        UCHAR Reserved[PSH_X64(0x58, 0x30)];
    } Tail;
} IRP, *PIRP;
_Static_assert(__builtin_offsetof(IRP, IoStatus) == PSH_X64(0x30, 0x18), "IRP.IoStatus");
_Static_assert(__builtin_offsetof(IRP, Tail.Overlay.CurrentStackLocation) == PSH_X64(0xB8, 0x60), "IRP.CurrentStackLocation");
_Static_assert(sizeof(IRP) == PSH_X64(0xD0, 0x70), "IRP size");

FORCEINLINE PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp) { return Irp->Tail.Overlay.CurrentStackLocation; }

/* FILE_OBJECT: the fields a driver uses (FsContext/FsContext2 are the driver's per-open state) */
typedef struct _FILE_OBJECT {
    CSHORT Type;
    CSHORT Size;
    PDEVICE_OBJECT DeviceObject;
    PVOID Vpb;
    PVOID FsContext;
    PVOID FsContext2;
    UCHAR Reserved[PSH_X64(0xD8 - 0x28, 0x80 - 0x14)];
} FILE_OBJECT;
_Static_assert(__builtin_offsetof(FILE_OBJECT, FsContext) == PSH_X64(0x18, 0x0C), "FILE_OBJECT.FsContext");
_Static_assert(sizeof(FILE_OBJECT) == PSH_X64(0xD8, 0x80), "FILE_OBJECT size");

/* ---- I/O control codes, pending IRPs and cancellation (wdm.h) */
#define CTL_CODE(DeviceType, Function, Method, Access) (((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define METHOD_BUFFERED   0
#define METHOD_IN_DIRECT  1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER    3
#define FILE_ANY_ACCESS   0
#define FILE_SPECIAL_ACCESS FILE_ANY_ACCESS
#define FILE_READ_ACCESS  1
#define FILE_WRITE_ACCESS 2
#define SL_PENDING_RETURNED 0x01
#define STATUS_PENDING   ((NTSTATUS)0x00000103L)
#define STATUS_CANCELLED ((NTSTATUS)0xC0000120L)
#define STATUS_DEVICE_NOT_READY ((NTSTATUS)0xC00000A3L)
#define STATUS_INVALID_BUFFER_SIZE ((NTSTATUS)0xC0000206L)
#define STATUS_NO_MORE_ENTRIES ((NTSTATUS)0x8000001AL)
#define IoGetNextIrpStackLocation(Irp) ((Irp)->Tail.Overlay.CurrentStackLocation - 1)
FORCEINLINE VOID IoMarkIrpPending(PIRP Irp) { IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED; }
typedef VOID DRIVER_CANCEL(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;
/* wdm.h's IoSetCancelRoutine: an interlocked exchange of Irp->CancelRoutine, which the I/O manager's IoCancelIrp
   exchanges with NULL under the cancel spin lock before it calls the routine */
#define IoSetCancelRoutine(Irp, NewCancelRoutine) \
    ((PDRIVER_CANCEL)InterlockedExchangePointer((PVOID volatile *)&(Irp)->CancelRoutine, (PVOID)(NewCancelRoutine)))
NTKERNELAPI VOID IoAcquireCancelSpinLock(PKIRQL Irql) KIMPORT(IoAcquireCancelSpinLock);
NTKERNELAPI VOID IoReleaseCancelSpinLock(KIRQL Irql) KIMPORT(IoReleaseCancelSpinLock);


NTKERNELAPI HANDLE PsGetCurrentProcessId(VOID) KIMPORT(PsGetCurrentProcessId);
NTKERNELAPI HANDLE PsGetCurrentThreadId(VOID) KIMPORT(PsGetCurrentThreadId);
NTKERNELAPI PEPROCESS IoGetCurrentProcess(VOID) KIMPORT(IoGetCurrentProcess);
#define PsGetCurrentProcess IoGetCurrentProcess
NTKERNELAPI HANDLE PsGetProcessId(PEPROCESS Process) KIMPORT(PsGetProcessId);

NTKERNELAPI VOID ObfReferenceObject(PVOID Object) KIMPORT(ObfReferenceObject);
NTKERNELAPI VOID ObfDereferenceObject(PVOID Object) KIMPORT(ObfDereferenceObject);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)

/* ---- threads, processes, objects and handles (ntddk.h / wdm.h) */
typedef struct _PEB *PPEB;
typedef struct _OBJECT_TYPE *POBJECT_TYPE;
typedef struct _ACCESS_STATE *PACCESS_STATE;
typedef enum _MODE { KernelMode = 0, UserMode = 1, MaximumMode = 2 } MODE;
#define OBJ_KERNEL_HANDLE 0x00000200L
#define OBJ_INHERIT 0x00000002L
#define OBJ_CASE_INSENSITIVE 0x00000040L
#define STANDARD_RIGHTS_REQUIRED 0x000F0000L
#define STANDARD_RIGHTS_ALL 0x001F0000L
typedef PVOID PSECURITY_DESCRIPTOR;
typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
_Static_assert(sizeof(OBJECT_ATTRIBUTES) == PSH_X64(0x30, 0x18), "OBJECT_ATTRIBUTES size");
#define InitializeObjectAttributes(p, n, a, r, s) do { \
    (p)->Length = sizeof(OBJECT_ATTRIBUTES); (p)->RootDirectory = (r); (p)->Attributes = (a); (p)->ObjectName = (n); \
    (p)->SecurityDescriptor = (s); (p)->SecurityQualityOfService = NULL; } while (0)
#define PROCESS_ALL_ACCESS 0x001FFFFF
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#define THREAD_ALL_ACCESS 0x001FFFFF
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define ZwCurrentProcess() NtCurrentProcess()
NTKERNELAPI PKTHREAD KeGetCurrentThread(VOID) KIMPORT(KeGetCurrentThread);
NTKERNELAPI PETHREAD PsGetCurrentThread(VOID) KIMPORT(PsGetCurrentThread);
NTKERNELAPI HANDLE PsGetThreadId(PETHREAD Thread) KIMPORT(PsGetThreadId);
NTKERNELAPI HANDLE PsGetThreadProcessId(PETHREAD Thread) KIMPORT(PsGetThreadProcessId);
NTKERNELAPI BOOLEAN PsIsSystemThread(PETHREAD Thread) KIMPORT(PsIsSystemThread);
NTKERNELAPI LONGLONG PsGetProcessCreateTimeQuadPart(PEPROCESS Process) KIMPORT(PsGetProcessCreateTimeQuadPart);
NTKERNELAPI ULONG PsGetCurrentProcessSessionId(VOID) KIMPORT(PsGetCurrentProcessSessionId);
NTKERNELAPI NTSTATUS SeLocateProcessImageName(PEPROCESS Process, PUNICODE_STRING *pImageFileName) KIMPORT(SeLocateProcessImageName);
NTKERNELAPI NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode) KIMPORT(ObReferenceObjectByPointer);
NTSYSAPI NTSTATUS ZwClose(HANDLE Handle) KIMPORT(ZwClose);
/* the exported variables PsProcessType and PsThreadType (POBJECT_TYPE *): a WebAssembly module imports functions
   only, so each is the address the kernel returns for it, and `*PsProcessType` reads it as a driver would */
NTKERNELAPI POBJECT_TYPE *__psh_ObjectTypeVariable(ULONG Index) KIMPORT(PSH_OBJECT_TYPE_VARIABLE);
#define PsProcessType (__psh_ObjectTypeVariable(0))
#define PsThreadType (__psh_ObjectTypeVariable(1))

/* ---- I/O manager routines */
NTKERNELAPI NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
    ULONG DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive, PDEVICE_OBJECT *DeviceObject) KIMPORT(IoCreateDevice);
NTKERNELAPI VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject) KIMPORT(IoDeleteDevice);
NTKERNELAPI NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName) KIMPORT(IoCreateSymbolicLink);
NTKERNELAPI NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName) KIMPORT(IoDeleteSymbolicLink);
NTKERNELAPI VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) KIMPORT(IofCompleteRequest);
#define IoCompleteRequest(Irp, PriorityBoost) IofCompleteRequest(Irp, PriorityBoost)

/* ---- cancel-safe IRP queues (IoCsq*, wdm.h). Windows exports them from ntoskrnl (csq.lib for older systems): here
   they are that library, in C, so the driver's queue callbacks run as its own code. The queue keeps the IO_CSQ (or
   the caller's IO_CSQ_IRP_CONTEXT) in Irp->Tail.Overlay.DriverContext[3], as Windows does ([DOC] IoCsqInsertIrp). */
#define IO_TYPE_CSQ_IRP_CONTEXT 1
#define IO_TYPE_CSQ             2
#define IO_TYPE_CSQ_EX          3
typedef struct _IO_CSQ IO_CSQ, *PIO_CSQ;
typedef VOID IO_CSQ_INSERT_IRP(PIO_CSQ Csq, PIRP Irp);
typedef NTSTATUS IO_CSQ_INSERT_IRP_EX(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext);
typedef VOID IO_CSQ_REMOVE_IRP(PIO_CSQ Csq, PIRP Irp);
typedef PIRP IO_CSQ_PEEK_NEXT_IRP(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext);
typedef VOID IO_CSQ_ACQUIRE_LOCK(PIO_CSQ Csq, PKIRQL Irql);
typedef VOID IO_CSQ_RELEASE_LOCK(PIO_CSQ Csq, KIRQL Irql);
typedef VOID IO_CSQ_COMPLETE_CANCELED_IRP(PIO_CSQ Csq, PIRP Irp);
typedef IO_CSQ_INSERT_IRP *PIO_CSQ_INSERT_IRP;
typedef IO_CSQ_INSERT_IRP_EX *PIO_CSQ_INSERT_IRP_EX;
typedef IO_CSQ_REMOVE_IRP *PIO_CSQ_REMOVE_IRP;
typedef IO_CSQ_PEEK_NEXT_IRP *PIO_CSQ_PEEK_NEXT_IRP;
typedef IO_CSQ_ACQUIRE_LOCK *PIO_CSQ_ACQUIRE_LOCK;
typedef IO_CSQ_RELEASE_LOCK *PIO_CSQ_RELEASE_LOCK;
typedef IO_CSQ_COMPLETE_CANCELED_IRP *PIO_CSQ_COMPLETE_CANCELED_IRP;
struct _IO_CSQ {
    ULONG Type;
    PIO_CSQ_INSERT_IRP CsqInsertIrp;
    PIO_CSQ_REMOVE_IRP CsqRemoveIrp;
    PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp;
    PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock;
    PIO_CSQ_RELEASE_LOCK CsqReleaseLock;
    PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;
    PVOID ReservePointer;
};
typedef struct _IO_CSQ_IRP_CONTEXT { ULONG Type; PIRP Irp; PIO_CSQ Csq; } IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;

static inline NTSTATUS IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP InsertIrp, PIO_CSQ_REMOVE_IRP RemoveIrp,
    PIO_CSQ_PEEK_NEXT_IRP PeekNextIrp, PIO_CSQ_ACQUIRE_LOCK AcquireLock, PIO_CSQ_RELEASE_LOCK ReleaseLock,
    PIO_CSQ_COMPLETE_CANCELED_IRP CompleteCanceledIrp)
{
    Csq->Type = IO_TYPE_CSQ;
    Csq->CsqInsertIrp = InsertIrp;
    Csq->CsqRemoveIrp = RemoveIrp;
    Csq->CsqPeekNextIrp = PeekNextIrp;
    Csq->CsqAcquireLock = AcquireLock;
    Csq->CsqReleaseLock = ReleaseLock;
    Csq->CsqCompleteCanceledIrp = CompleteCanceledIrp;
    Csq->ReservePointer = NULL;
    return STATUS_SUCCESS;
}
static inline NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX InsertIrp, PIO_CSQ_REMOVE_IRP RemoveIrp,
    PIO_CSQ_PEEK_NEXT_IRP PeekNextIrp, PIO_CSQ_ACQUIRE_LOCK AcquireLock, PIO_CSQ_RELEASE_LOCK ReleaseLock,
    PIO_CSQ_COMPLETE_CANCELED_IRP CompleteCanceledIrp)
{
    IoCsqInitialize(Csq, (PIO_CSQ_INSERT_IRP)InsertIrp, RemoveIrp, PeekNextIrp, AcquireLock, ReleaseLock, CompleteCanceledIrp);
    Csq->Type = IO_TYPE_CSQ_EX;
    return STATUS_SUCCESS;
}
/* Caller holds the queue's lock: the IRP leaves the queue, the lock is released, and the queue completes it cancelled. */
static inline VOID __psh_IoCsqCompleteCancelled(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, KIRQL Irql)
{
    Csq->CsqRemoveIrp(Csq, Irp);
    if (Context != NULL)
        Context->Irp = NULL;
    Irp->Tail.Overlay.DriverContext[3] = NULL;
    Csq->CsqReleaseLock(Csq, Irql);
    Csq->CsqCompleteCanceledIrp(Csq, Irp);
}
/* The cancel routine of every IRP in a cancel-safe queue: the I/O manager calls it holding the cancel spin lock. */
static VOID __psh_IoCsqCancelRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_CSQ Csq = (PIO_CSQ)Irp->Tail.Overlay.DriverContext[3];
    PIO_CSQ_IRP_CONTEXT Context = NULL;
    KIRQL irql;

    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    if (Csq->Type == IO_TYPE_CSQ_IRP_CONTEXT) {
        Context = (PIO_CSQ_IRP_CONTEXT)Csq;
        Csq = Context->Csq;
    }
    Csq->CsqAcquireLock(Csq, &irql);
    __psh_IoCsqCompleteCancelled(Csq, Irp, Context, irql);
}
static inline NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext)
{
    NTSTATUS status = STATUS_SUCCESS;
    KIRQL irql;

    Csq->CsqAcquireLock(Csq, &irql);
    if (Csq->Type == IO_TYPE_CSQ_EX)
        status = ((PIO_CSQ_INSERT_IRP_EX)Csq->CsqInsertIrp)(Csq, Irp, InsertContext);
    else
        Csq->CsqInsertIrp(Csq, Irp);
    if (!NT_SUCCESS(status)) {
        Csq->CsqReleaseLock(Csq, irql);
        return status;
    }
    if (Context != NULL) {
        Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
        Context->Irp = Irp;
        Context->Csq = Csq;
        Irp->Tail.Overlay.DriverContext[3] = Context;
    } else {
        Irp->Tail.Overlay.DriverContext[3] = Csq;
    }
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, __psh_IoCsqCancelRoutine);
    /* cancelled before the routine was set: if IoCancelIrp has not taken the routine yet, the queue completes it */
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        __psh_IoCsqCompleteCancelled(Csq, Irp, Context, irql);
        return STATUS_SUCCESS;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return STATUS_PENDING;
}
static inline VOID IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context) { IoCsqInsertIrpEx(Csq, Irp, Context, NULL); }
/* The IRP comes out only when its cancel routine was still set: otherwise the cancel routine owns it. */
static inline PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
    PIRP Irp = NULL;
    KIRQL irql;

    Csq->CsqAcquireLock(Csq, &irql);
    if (Context->Irp != NULL && IoSetCancelRoutine(Context->Irp, NULL) != NULL) {
        Irp = Context->Irp;
        Csq->CsqRemoveIrp(Csq, Irp);
        Irp->Tail.Overlay.DriverContext[3] = NULL;
        Context->Irp = NULL;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return Irp;
}
static inline PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
    PIRP Irp;
    KIRQL irql;

    Csq->CsqAcquireLock(Csq, &irql);
    for (Irp = Csq->CsqPeekNextIrp(Csq, NULL, PeekContext); Irp != NULL; Irp = Csq->CsqPeekNextIrp(Csq, Irp, PeekContext)) {
        if (IoSetCancelRoutine(Irp, NULL) == NULL)
            continue; /* being cancelled: its cancel routine removes it */
        Csq->CsqRemoveIrp(Csq, Irp);
        if (Irp->Tail.Overlay.DriverContext[3] != NULL && *(ULONG *)Irp->Tail.Overlay.DriverContext[3] == IO_TYPE_CSQ_IRP_CONTEXT)
            ((PIO_CSQ_IRP_CONTEXT)Irp->Tail.Overlay.DriverContext[3])->Irp = NULL;
        Irp->Tail.Overlay.DriverContext[3] = NULL;
        break;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return Irp;
}

/* ---- pool */
typedef enum _POOL_TYPE { NonPagedPool = 0, PagedPool = 1, NonPagedPoolMustSucceed = 2, NonPagedPoolNx = 512 } POOL_TYPE;
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_NON_PAGED     0x0000000000000040ULL
#define POOL_FLAG_PAGED         0x0000000000000100ULL
NTKERNELAPI PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) KIMPORT(ExAllocatePoolWithTag);
NTKERNELAPI PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) KIMPORT(ExAllocatePool2);
NTKERNELAPI VOID ExFreePoolWithTag(PVOID P, ULONG Tag) KIMPORT(ExFreePoolWithTag);
#define ExAllocatePool(type, size) ExAllocatePoolWithTag(type, size, 'enoN')
NTKERNELAPI PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) KIMPORT(ExAllocatePoolWithQuotaTag);
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
/* wdm.h's inline: ExAllocatePoolWithTag, then zeroed */
FORCEINLINE PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
    PVOID p = ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
    if (p != NULL) __builtin_memset(p, 0, NumberOfBytes);
    return p;
}
#define ExFreePool(p) ExFreePoolWithTag(p, 0)

/* ---- synchronisation */
NTKERNELAPI VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock) KIMPORT(KeInitializeSpinLock);
NTKERNELAPI KIRQL KfAcquireSpinLock(PKSPIN_LOCK SpinLock) KIMPORT(KeAcquireSpinLock);
NTKERNELAPI VOID KfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) KIMPORT(KeReleaseSpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = KfAcquireSpinLock(SpinLock))
#define KeReleaseSpinLock(SpinLock, NewIrql) KfReleaseSpinLock(SpinLock, NewIrql)
NTKERNELAPI VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex) KIMPORT(ExInitializeFastMutex);
NTKERNELAPI VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex) KIMPORT(ExAcquireFastMutex);
NTKERNELAPI VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex) KIMPORT(ExReleaseFastMutex);
/* Guarded mutexes: the fast mutex's object since Windows 8 ([DOC] Fast Mutexes and Guarded Mutexes) */
typedef FAST_MUTEX KGUARDED_MUTEX, *PKGUARDED_MUTEX;
NTKERNELAPI VOID KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex) KIMPORT(KeInitializeGuardedMutex);
NTKERNELAPI VOID KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex) KIMPORT(KeAcquireGuardedMutex);
NTKERNELAPI VOID KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex) KIMPORT(KeReleaseGuardedMutex);
NTKERNELAPI KIRQL KeGetCurrentIrql(VOID) KIMPORT(KeGetCurrentIrql);
#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define HIGH_LEVEL 31
NTKERNELAPI KIRQL KfRaiseIrql(KIRQL NewIrql) KIMPORT(KfRaiseIrql);
NTKERNELAPI VOID KfLowerIrql(KIRQL NewIrql) KIMPORT(KfLowerIrql);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))
#define KeLowerIrql(NewIrql) KfLowerIrql(NewIrql)

/* ---- time, events and waits */
typedef KEVENT *PRKEVENT;
typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6 } KWAIT_REASON;
typedef LONG KPRIORITY_INCREMENT;
#define STATUS_TIMEOUT ((NTSTATUS)0x00000102L)
NTKERNELAPI VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime) KIMPORT(KeQuerySystemTime);
NTKERNELAPI VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime) KIMPORT(KeQuerySystemTimePrecise);
NTKERNELAPI LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency) KIMPORT(KeQueryPerformanceCounter);
NTKERNELAPI VOID KeQueryTickCount(PLARGE_INTEGER CurrentCount) KIMPORT(KeQueryTickCount);
NTKERNELAPI ULONG KeQueryTimeIncrement(VOID) KIMPORT(KeQueryTimeIncrement);
NTKERNELAPI VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) KIMPORT(KeInitializeEvent);
NTKERNELAPI LONG KeSetEvent(PRKEVENT Event, KPRIORITY_INCREMENT Increment, BOOLEAN Wait) KIMPORT(KeSetEvent);
NTKERNELAPI LONG KeResetEvent(PRKEVENT Event) KIMPORT(KeResetEvent);
NTKERNELAPI VOID KeClearEvent(PRKEVENT Event) KIMPORT(KeClearEvent);
NTKERNELAPI LONG KeReadStateEvent(PRKEVENT Event) KIMPORT(KeReadStateEvent);
NTKERNELAPI NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
    PLARGE_INTEGER Timeout) KIMPORT(KeWaitForSingleObject);
NTKERNELAPI NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Interval) KIMPORT(KeDelayExecutionThread);
NTKERNELAPI VOID KeEnterCriticalRegion(VOID) KIMPORT(KeEnterCriticalRegion);
NTKERNELAPI VOID KeLeaveCriticalRegion(VOID) KIMPORT(KeLeaveCriticalRegion);

/* ---- more spin locks */
typedef struct _KSPIN_LOCK_QUEUE { struct _KSPIN_LOCK_QUEUE *volatile Next; PKSPIN_LOCK volatile Lock; } KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;
typedef struct _KLOCK_QUEUE_HANDLE { KSPIN_LOCK_QUEUE LockQueue; KIRQL OldIrql; } KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;
NTKERNELAPI KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) KIMPORT(KeAcquireSpinLockRaiseToDpc);
NTKERNELAPI VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) KIMPORT(KeAcquireInStackQueuedSpinLock);
NTKERNELAPI VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) KIMPORT(KeReleaseInStackQueuedSpinLock);

/* ---- executive resources, lookaside lists, push locks, rundown protection */
typedef struct _ERESOURCE { UCHAR Opaque[PSH_X64(0x68, 0x38)]; } ERESOURCE, *PERESOURCE;
_Static_assert(sizeof(ERESOURCE) == PSH_X64(0x68, 0x38), "ERESOURCE size");
NTKERNELAPI NTSTATUS ExInitializeResourceLite(PERESOURCE Resource) KIMPORT(ExInitializeResourceLite);
NTKERNELAPI BOOLEAN ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait) KIMPORT(ExAcquireResourceExclusiveLite);
NTKERNELAPI BOOLEAN ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait) KIMPORT(ExAcquireResourceSharedLite);
NTKERNELAPI VOID ExReleaseResourceLite(PERESOURCE Resource) KIMPORT(ExReleaseResourceLite);
NTKERNELAPI NTSTATUS ExDeleteResourceLite(PERESOURCE Resource) KIMPORT(ExDeleteResourceLite);
typedef PVOID (*PALLOCATE_FUNCTION)(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
typedef VOID (*PFREE_FUNCTION)(PVOID Buffer);
/* NPAGED_LOOKASIDE_LIST: opaque here, 0x80 bytes (its GENERAL_LOOKASIDE is cache-aligned) */
typedef struct __attribute__((aligned(16))) _NPAGED_LOOKASIDE_LIST { UCHAR Opaque[0x80]; } NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;
NTKERNELAPI VOID ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate, PFREE_FUNCTION Free,
    ULONG Flags, SIZE_T Size, ULONG Tag, USHORT Depth) KIMPORT(ExInitializeNPagedLookasideList);
NTKERNELAPI PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) KIMPORT(ExAllocateFromNPagedLookasideList);
NTKERNELAPI VOID ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry) KIMPORT(ExFreeToNPagedLookasideList);
NTKERNELAPI VOID ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside) KIMPORT(ExDeleteNPagedLookasideList);
typedef struct _EX_PUSH_LOCK { ULONG_PTR Value; } EX_PUSH_LOCK, *PEX_PUSH_LOCK;
FORCEINLINE VOID ExInitializePushLock(PEX_PUSH_LOCK PushLock) { PushLock->Value = 0; }
NTKERNELAPI VOID ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags) KIMPORT(ExAcquirePushLockExclusiveEx);
NTKERNELAPI VOID ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags) KIMPORT(ExAcquirePushLockSharedEx);
NTKERNELAPI VOID ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags) KIMPORT(ExReleasePushLockExclusiveEx);
NTKERNELAPI VOID ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags) KIMPORT(ExReleasePushLockSharedEx);
#define EX_DEFAULT_PUSH_LOCK_FLAGS 0
typedef struct _EX_RUNDOWN_REF { ULONG_PTR Count; } EX_RUNDOWN_REF, *PEX_RUNDOWN_REF;
NTKERNELAPI VOID ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) KIMPORT(ExInitializeRundownProtection);
NTKERNELAPI VOID ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef) KIMPORT(ExReInitializeRundownProtection);
NTKERNELAPI BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef) KIMPORT(ExAcquireRundownProtection);
NTKERNELAPI VOID ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef) KIMPORT(ExReleaseRundownProtection);
NTKERNELAPI VOID ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef) KIMPORT(ExWaitForRundownProtectionRelease);
NTKERNELAPI VOID ExRundownCompleted(PEX_RUNDOWN_REF RunRef) KIMPORT(ExRundownCompleted);

/* ---- structured exception handling: clang has no SEH on WebAssembly. __try blocks run, __finally blocks run after
   them, __except handlers never run: an exception raised inside (ExRaiseStatus, a failed probe, a quota raise) is the
   bug check Windows shows when no handler catches it (0x1E KMODE_EXCEPTION_NOT_HANDLED), and the report says the
   handler was not modelled. __leave is not supported. */
#define __try if (1)
#define __except(filter) else if (0)
#define __finally
#define GetExceptionCode() ((NTSTATUS)0)
#define GetExceptionInformation() ((PVOID)0)
#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)
NTKERNELAPI VOID ExRaiseStatus(NTSTATUS Status) KIMPORT(ExRaiseStatus);
NTKERNELAPI VOID ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment) KIMPORT(ProbeForRead);
NTKERNELAPI VOID ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment) KIMPORT(ProbeForWrite);

/* ---- runtime library */
NTSYSAPI VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) KIMPORT(RtlInitUnicodeString);
NTSYSAPI VOID RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) KIMPORT(RtlCopyUnicodeString);
NTSYSAPI LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) KIMPORT(RtlCompareUnicodeString);
NTSYSAPI BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) KIMPORT(RtlEqualUnicodeString);
typedef struct _OSVERSIONINFOW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
} RTL_OSVERSIONINFOW, *PRTL_OSVERSIONINFOW;
NTSYSAPI NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation) KIMPORT(RtlGetVersion);
NTKERNELAPI PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName) KIMPORT(MmGetSystemRoutineAddress);
NTKERNELAPI VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4) KIMPORT(KeBugCheckEx);
typedef const char *PCSZ;
typedef const STRING *PCSTRING, *PCANSI_STRING;
NTSYSAPI VOID RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString) KIMPORT(RtlInitAnsiString);
NTSYSAPI VOID RtlInitString(PSTRING DestinationString, PCSZ SourceString) KIMPORT(RtlInitString);
NTSYSAPI NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString, BOOLEAN AllocateDestinationString) KIMPORT(RtlAnsiStringToUnicodeString);
NTSYSAPI NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString, BOOLEAN AllocateDestinationString) KIMPORT(RtlUnicodeStringToAnsiString);
NTSYSAPI VOID RtlFreeAnsiString(PANSI_STRING AnsiString) KIMPORT(RtlFreeAnsiString);
NTSYSAPI VOID RtlFreeUnicodeString(PUNICODE_STRING UnicodeString) KIMPORT(RtlFreeUnicodeString);
NTSYSAPI NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source) KIMPORT(RtlAppendUnicodeToString);
NTSYSAPI NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source) KIMPORT(RtlAppendUnicodeStringToString);
NTSYSAPI BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) KIMPORT(RtlPrefixUnicodeString);
NTSYSAPI NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString, BOOLEAN AllocateDestinationString) KIMPORT(RtlUpcaseUnicodeString);
NTSYSAPI NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String) KIMPORT(RtlIntegerToUnicodeString);
NTSYSAPI NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value) KIMPORT(RtlUnicodeStringToInteger);
NTSYSAPI SIZE_T RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length) KIMPORT(RtlCompareMemory);
#define RtlCopyMemory(d, s, n) __builtin_memcpy((d), (s), (n))
#define RtlMoveMemory(d, s, n) __builtin_memmove((d), (s), (n))
#define RtlZeroMemory(d, n) __builtin_memset((d), 0, (n))
#define RtlFillMemory(d, n, v) __builtin_memset((d), (v), (n))
#define RtlEqualMemory(a, b, n) (__builtin_memcmp((a), (b), (n)) == 0)

/* ---- debug output: DbgPrint's varargs arrive as (format, pointer to the argument slots) */
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)
#define va_copy(d, s) __builtin_va_copy(d, s)
ULONG __cdecl DbgPrint(PCSTR Format, ...) KIMPORT(DbgPrint);
ULONG __cdecl DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) KIMPORT(DbgPrintEx);
NTSYSAPI ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) KIMPORT(vDbgPrintEx);
#ifdef _WIN64
/* The x64 calling convention gives every variadic argument an 8-byte slot, whatever its type: "%x" of a pointer
   reads the low half of the pointer's slot and the next conversion reads the next slot. wasm64 packs varargs by
   type instead, so each argument is widened to its own 8-byte slot here (integers sign- or zero-extended as their
   type is; up to 32 arguments). Passing a structure by value to DbgPrint does not compile. */
#define __PSH_SLOT(x) ((ULONG64)(x))
#define __PSH_N(...) __PSH_N_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define __PSH_N_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, n, ...) n
#define __PSH_CAT(a, b) __PSH_CAT_(a, b)
#define __PSH_CAT_(a, b) a##b
#define __PSH_SLOTS(...) __PSH_CAT(__PSH_S, __PSH_N(__VA_ARGS__))(__VA_ARGS__)
#define __PSH_S1(a) __PSH_SLOT(a)
#define __PSH_S2(a, ...) __PSH_SLOT(a), __PSH_S1(__VA_ARGS__)
#define __PSH_S3(a, ...) __PSH_SLOT(a), __PSH_S2(__VA_ARGS__)
#define __PSH_S4(a, ...) __PSH_SLOT(a), __PSH_S3(__VA_ARGS__)
#define __PSH_S5(a, ...) __PSH_SLOT(a), __PSH_S4(__VA_ARGS__)
#define __PSH_S6(a, ...) __PSH_SLOT(a), __PSH_S5(__VA_ARGS__)
#define __PSH_S7(a, ...) __PSH_SLOT(a), __PSH_S6(__VA_ARGS__)
#define __PSH_S8(a, ...) __PSH_SLOT(a), __PSH_S7(__VA_ARGS__)
#define __PSH_S9(a, ...) __PSH_SLOT(a), __PSH_S8(__VA_ARGS__)
#define __PSH_S10(a, ...) __PSH_SLOT(a), __PSH_S9(__VA_ARGS__)
#define __PSH_S11(a, ...) __PSH_SLOT(a), __PSH_S10(__VA_ARGS__)
#define __PSH_S12(a, ...) __PSH_SLOT(a), __PSH_S11(__VA_ARGS__)
#define __PSH_S13(a, ...) __PSH_SLOT(a), __PSH_S12(__VA_ARGS__)
#define __PSH_S14(a, ...) __PSH_SLOT(a), __PSH_S13(__VA_ARGS__)
#define __PSH_S15(a, ...) __PSH_SLOT(a), __PSH_S14(__VA_ARGS__)
#define __PSH_S16(a, ...) __PSH_SLOT(a), __PSH_S15(__VA_ARGS__)
#define __PSH_S17(a, ...) __PSH_SLOT(a), __PSH_S16(__VA_ARGS__)
#define __PSH_S18(a, ...) __PSH_SLOT(a), __PSH_S17(__VA_ARGS__)
#define __PSH_S19(a, ...) __PSH_SLOT(a), __PSH_S18(__VA_ARGS__)
#define __PSH_S20(a, ...) __PSH_SLOT(a), __PSH_S19(__VA_ARGS__)
#define __PSH_S21(a, ...) __PSH_SLOT(a), __PSH_S20(__VA_ARGS__)
#define __PSH_S22(a, ...) __PSH_SLOT(a), __PSH_S21(__VA_ARGS__)
#define __PSH_S23(a, ...) __PSH_SLOT(a), __PSH_S22(__VA_ARGS__)
#define __PSH_S24(a, ...) __PSH_SLOT(a), __PSH_S23(__VA_ARGS__)
#define __PSH_S25(a, ...) __PSH_SLOT(a), __PSH_S24(__VA_ARGS__)
#define __PSH_S26(a, ...) __PSH_SLOT(a), __PSH_S25(__VA_ARGS__)
#define __PSH_S27(a, ...) __PSH_SLOT(a), __PSH_S26(__VA_ARGS__)
#define __PSH_S28(a, ...) __PSH_SLOT(a), __PSH_S27(__VA_ARGS__)
#define __PSH_S29(a, ...) __PSH_SLOT(a), __PSH_S28(__VA_ARGS__)
#define __PSH_S30(a, ...) __PSH_SLOT(a), __PSH_S29(__VA_ARGS__)
#define __PSH_S31(a, ...) __PSH_SLOT(a), __PSH_S30(__VA_ARGS__)
#define __PSH_S32(a, ...) __PSH_SLOT(a), __PSH_S31(__VA_ARGS__)
#define DbgPrint(Format, ...) DbgPrint(Format __VA_OPT__(, __PSH_SLOTS(__VA_ARGS__)))
#define DbgPrintEx(ComponentId, Level, Format, ...) DbgPrintEx(ComponentId, Level, Format __VA_OPT__(, __PSH_SLOTS(__VA_ARGS__)))
#define __PSH_PRINTF1(f, a, Format, ...) f(a, Format __VA_OPT__(, __PSH_SLOTS(__VA_ARGS__)))
#define __PSH_PRINTF2(f, a, b, Format, ...) f(a, b, Format __VA_OPT__(, __PSH_SLOTS(__VA_ARGS__)))
#endif
#include "dpfilter.h"
#define KdPrint(_x_) DbgPrint _x_

/* /GS (on by default in the WDK): psharness compiles with -fstack-protector-strong, which checks this cookie after each
   local buffer on return and calls __stack_chk_fail when it changed (bug check 0xF7 DRIVER_OVERRAN_STACK_BUFFER). The
   value is MSVC's default __security_cookie before __security_init_cookie randomises it: fixed, so runs replay. */
#ifndef PSH_NO_GS_COOKIE
#ifdef __cplusplus
extern /* a const global has internal linkage in C++ */
#endif
__attribute__((weak)) const __UINTPTR_TYPE__ __stack_chk_guard = PSH_X64(0x00002B992DDFA232ULL, 0xBB40E64EUL);
#endif
#define KdPrintEx(_x_) DbgPrintEx _x_

/* ---- object callbacks (declared in wdm.h, as the WDK does): pre- and post-operation routines on process and thread handles */
typedef ULONG OB_OPERATION;
#define OB_OPERATION_HANDLE_CREATE 0x00000001
#define OB_OPERATION_HANDLE_DUPLICATE 0x00000002
#define OB_FLT_REGISTRATION_VERSION 0x0100
typedef enum _OB_PREOP_CALLBACK_STATUS { OB_PREOP_SUCCESS = 0 } OB_PREOP_CALLBACK_STATUS;
typedef struct _OB_PRE_CREATE_HANDLE_INFORMATION { ACCESS_MASK DesiredAccess; ACCESS_MASK OriginalDesiredAccess; } OB_PRE_CREATE_HANDLE_INFORMATION, *POB_PRE_CREATE_HANDLE_INFORMATION;
typedef struct _OB_PRE_DUPLICATE_HANDLE_INFORMATION { ACCESS_MASK DesiredAccess; ACCESS_MASK OriginalDesiredAccess; PVOID SourceProcess; PVOID TargetProcess; } OB_PRE_DUPLICATE_HANDLE_INFORMATION, *POB_PRE_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_PRE_OPERATION_PARAMETERS { OB_PRE_CREATE_HANDLE_INFORMATION CreateHandleInformation; OB_PRE_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation; } OB_PRE_OPERATION_PARAMETERS, *POB_PRE_OPERATION_PARAMETERS;
typedef struct _OB_PRE_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    POB_PRE_OPERATION_PARAMETERS Parameters;
} OB_PRE_OPERATION_INFORMATION, *POB_PRE_OPERATION_INFORMATION;
_Static_assert(sizeof(OB_PRE_OPERATION_INFORMATION) == PSH_X64(0x28, 0x18), "OB_PRE_OPERATION_INFORMATION size");
typedef struct _OB_POST_CREATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_CREATE_HANDLE_INFORMATION;
typedef struct _OB_POST_DUPLICATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_POST_OPERATION_PARAMETERS { OB_POST_CREATE_HANDLE_INFORMATION CreateHandleInformation; OB_POST_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation; } OB_POST_OPERATION_PARAMETERS, *POB_POST_OPERATION_PARAMETERS;
typedef struct _OB_POST_OPERATION_INFORMATION {
    OB_OPERATION Operation;
    union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
    PVOID Object;
    POBJECT_TYPE ObjectType;
    PVOID CallContext;
    NTSTATUS ReturnStatus;
    POB_POST_OPERATION_PARAMETERS Parameters;
} OB_POST_OPERATION_INFORMATION, *POB_POST_OPERATION_INFORMATION;
_Static_assert(sizeof(OB_POST_OPERATION_INFORMATION) == PSH_X64(0x30, 0x1C), "OB_POST_OPERATION_INFORMATION size");
typedef OB_PREOP_CALLBACK_STATUS (*POB_PRE_OPERATION_CALLBACK)(PVOID RegistrationContext, POB_PRE_OPERATION_INFORMATION OperationInformation);
typedef VOID (*POB_POST_OPERATION_CALLBACK)(PVOID RegistrationContext, POB_POST_OPERATION_INFORMATION OperationInformation);
typedef struct _OB_OPERATION_REGISTRATION {
    POBJECT_TYPE *ObjectType;
    OB_OPERATION Operations;
    POB_PRE_OPERATION_CALLBACK PreOperation;
    POB_POST_OPERATION_CALLBACK PostOperation;
} OB_OPERATION_REGISTRATION, *POB_OPERATION_REGISTRATION;
typedef struct _OB_CALLBACK_REGISTRATION {
    USHORT Version;
    USHORT OperationRegistrationCount;
    UNICODE_STRING Altitude;
    PVOID RegistrationContext;
    OB_OPERATION_REGISTRATION *OperationRegistration;
} OB_CALLBACK_REGISTRATION, *POB_CALLBACK_REGISTRATION;
_Static_assert(sizeof(OB_CALLBACK_REGISTRATION) == PSH_X64(0x28, 0x14), "OB_CALLBACK_REGISTRATION size");
#define STATUS_FLT_INSTANCE_ALTITUDE_COLLISION ((NTSTATUS)0xC01C0011L)
NTKERNELAPI NTSTATUS ObRegisterCallbacks(POB_CALLBACK_REGISTRATION CallbackRegistration, PVOID *RegistrationHandle) KIMPORT(ObRegisterCallbacks);
NTKERNELAPI VOID ObUnRegisterCallbacks(PVOID RegistrationHandle) KIMPORT(ObUnRegisterCallbacks);
NTKERNELAPI USHORT ObGetFilterVersion(VOID) KIMPORT(ObGetFilterVersion);

/* Registry callbacks: CmRegisterCallbackEx and the REG_*_INFORMATION structures a RegistryCallback routine reads */
typedef enum _REG_NOTIFY_CLASS {
    RegNtDeleteKey, RegNtPreDeleteKey = RegNtDeleteKey, RegNtSetValueKey, RegNtPreSetValueKey = RegNtSetValueKey,
    RegNtDeleteValueKey, RegNtPreDeleteValueKey = RegNtDeleteValueKey, RegNtSetInformationKey, RegNtPreSetInformationKey = RegNtSetInformationKey,
    RegNtRenameKey, RegNtPreRenameKey = RegNtRenameKey, RegNtEnumerateKey, RegNtPreEnumerateKey = RegNtEnumerateKey,
    RegNtEnumerateValueKey, RegNtPreEnumerateValueKey = RegNtEnumerateValueKey, RegNtQueryKey, RegNtPreQueryKey = RegNtQueryKey,
    RegNtQueryValueKey, RegNtPreQueryValueKey = RegNtQueryValueKey, RegNtQueryMultipleValueKey, RegNtPreQueryMultipleValueKey = RegNtQueryMultipleValueKey,
    RegNtPreCreateKey, RegNtPostCreateKey, RegNtPreOpenKey, RegNtPostOpenKey,
    RegNtKeyHandleClose, RegNtPreKeyHandleClose = RegNtKeyHandleClose,
    RegNtPostDeleteKey, RegNtPostSetValueKey, RegNtPostDeleteValueKey, RegNtPostSetInformationKey, RegNtPostRenameKey,
    RegNtPostEnumerateKey, RegNtPostEnumerateValueKey, RegNtPostQueryKey, RegNtPostQueryValueKey, RegNtPostQueryMultipleValueKey,
    RegNtPostKeyHandleClose, RegNtPreCreateKeyEx, RegNtPostCreateKeyEx, RegNtPreOpenKeyEx, RegNtPostOpenKeyEx,
    RegNtPreFlushKey, RegNtPostFlushKey, RegNtPreLoadKey, RegNtPostLoadKey, RegNtPreUnLoadKey, RegNtPostUnLoadKey,
    RegNtPreQueryKeySecurity, RegNtPostQueryKeySecurity, RegNtPreSetKeySecurity, RegNtPostSetKeySecurity,
    RegNtCallbackObjectContextCleanup, RegNtPreRestoreKey, RegNtPostRestoreKey, RegNtPreSaveKey, RegNtPostSaveKey,
    RegNtPreReplaceKey, RegNtPostReplaceKey, RegNtPreQueryKeyName, RegNtPostQueryKeyName, MaxRegNtNotifyClass
} REG_NOTIFY_CLASS;
typedef NTSTATUS EX_CALLBACK_FUNCTION(PVOID CallbackContext, PVOID Argument1, PVOID Argument2);
typedef EX_CALLBACK_FUNCTION *PEX_CALLBACK_FUNCTION;
typedef enum _KEY_VALUE_INFORMATION_CLASS {
    KeyValueBasicInformation, KeyValueFullInformation, KeyValuePartialInformation, KeyValueFullInformationAlign64,
    KeyValuePartialInformationAlign64, KeyValueLayerInformation, MaxKeyValueInfoClass
} KEY_VALUE_INFORMATION_CLASS;
typedef struct _KEY_VALUE_PARTIAL_INFORMATION { ULONG TitleIndex; ULONG Type; ULONG DataLength; UCHAR Data[1]; } KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;
typedef struct _REG_SET_VALUE_KEY_INFORMATION {
    PVOID Object; PUNICODE_STRING ValueName; ULONG TitleIndex; ULONG Type; PVOID Data; ULONG DataSize;
    PVOID CallContext; PVOID ObjectContext; PVOID Reserved;
} REG_SET_VALUE_KEY_INFORMATION, *PREG_SET_VALUE_KEY_INFORMATION;
_Static_assert(sizeof(REG_SET_VALUE_KEY_INFORMATION) == PSH_X64(0x40, 0x24), "REG_SET_VALUE_KEY_INFORMATION size");
typedef struct _REG_DELETE_VALUE_KEY_INFORMATION {
    PVOID Object; PUNICODE_STRING ValueName; PVOID CallContext; PVOID ObjectContext; PVOID Reserved;
} REG_DELETE_VALUE_KEY_INFORMATION, *PREG_DELETE_VALUE_KEY_INFORMATION;
typedef struct _REG_DELETE_KEY_INFORMATION { PVOID Object; PVOID CallContext; PVOID ObjectContext; PVOID Reserved; } REG_DELETE_KEY_INFORMATION, *PREG_DELETE_KEY_INFORMATION,
    REG_FLUSH_KEY_INFORMATION, *PREG_FLUSH_KEY_INFORMATION;
typedef struct _REG_RENAME_KEY_INFORMATION {
    PVOID Object; PUNICODE_STRING NewName; PVOID CallContext; PVOID ObjectContext; PVOID Reserved;
} REG_RENAME_KEY_INFORMATION, *PREG_RENAME_KEY_INFORMATION;
typedef struct _REG_QUERY_VALUE_KEY_INFORMATION {
    PVOID Object; PUNICODE_STRING ValueName; KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass; PVOID KeyValueInformation;
    ULONG Length; PULONG ResultLength; PVOID CallContext; PVOID ObjectContext; PVOID Reserved;
} REG_QUERY_VALUE_KEY_INFORMATION, *PREG_QUERY_VALUE_KEY_INFORMATION;
_Static_assert(sizeof(REG_QUERY_VALUE_KEY_INFORMATION) == PSH_X64(0x48, 0x24), "REG_QUERY_VALUE_KEY_INFORMATION size");
typedef struct _REG_CREATE_KEY_INFORMATION {
    PUNICODE_STRING CompleteName; PVOID RootObject; PVOID ObjectType; ULONG CreateOptions; PUNICODE_STRING Class;
    PVOID SecurityDescriptor; PVOID SecurityQualityOfService; ACCESS_MASK DesiredAccess; ACCESS_MASK GrantedAccess;
    PULONG Disposition; PVOID *ResultObject; PVOID CallContext; PVOID RootObjectContext; PVOID Transaction; PVOID Reserved;
} REG_CREATE_KEY_INFORMATION, REG_OPEN_KEY_INFORMATION, *PREG_CREATE_KEY_INFORMATION, *PREG_OPEN_KEY_INFORMATION;
_Static_assert(sizeof(REG_CREATE_KEY_INFORMATION) == PSH_X64(0x70, 0x3c), "REG_CREATE_KEY_INFORMATION size");
typedef struct _REG_CREATE_KEY_INFORMATION_V1 {
    PUNICODE_STRING CompleteName; PVOID RootObject; PVOID ObjectType; ULONG Options; PUNICODE_STRING Class;
    PVOID SecurityDescriptor; PVOID SecurityQualityOfService; ACCESS_MASK DesiredAccess; ACCESS_MASK GrantedAccess;
    PULONG Disposition; PVOID *ResultObject; PVOID CallContext; PVOID RootObjectContext; PVOID Transaction;
    ULONG_PTR Version; PUNICODE_STRING RemainingName; ULONG Wow64Flags; ULONG Attributes; KPROCESSOR_MODE CheckAccessMode;
} REG_CREATE_KEY_INFORMATION_V1, REG_OPEN_KEY_INFORMATION_V1, *PREG_CREATE_KEY_INFORMATION_V1, *PREG_OPEN_KEY_INFORMATION_V1;
_Static_assert(sizeof(REG_CREATE_KEY_INFORMATION_V1) == PSH_X64(0x88, 0x4c), "REG_CREATE_KEY_INFORMATION_V1 size");
typedef struct _REG_PRE_CREATE_KEY_INFORMATION { PUNICODE_STRING CompleteName; } REG_PRE_CREATE_KEY_INFORMATION, REG_PRE_OPEN_KEY_INFORMATION,
    *PREG_PRE_CREATE_KEY_INFORMATION, *PREG_PRE_OPEN_KEY_INFORMATION;
typedef struct _REG_POST_CREATE_KEY_INFORMATION { PUNICODE_STRING CompleteName; PVOID Object; NTSTATUS Status; } REG_POST_CREATE_KEY_INFORMATION,
    REG_POST_OPEN_KEY_INFORMATION, *PREG_POST_CREATE_KEY_INFORMATION, *PREG_POST_OPEN_KEY_INFORMATION;
typedef struct _REG_POST_OPERATION_INFORMATION {
    PVOID Object; NTSTATUS Status; PVOID PreInformation; NTSTATUS ReturnStatus; PVOID CallContext; PVOID ObjectContext; PVOID Reserved;
} REG_POST_OPERATION_INFORMATION, *PREG_POST_OPERATION_INFORMATION;
_Static_assert(sizeof(REG_POST_OPERATION_INFORMATION) == PSH_X64(0x38, 0x1c), "REG_POST_OPERATION_INFORMATION size");
#define REG_NONE 0
#define REG_SZ 1
#define REG_EXPAND_SZ 2
#define REG_BINARY 3
#define REG_DWORD 4
#define REG_MULTI_SZ 7
#define REG_QWORD 11
#define KEY_QUERY_VALUE 0x0001
#define KEY_SET_VALUE 0x0002
#define KEY_CREATE_SUB_KEY 0x0004
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_READ 0x20019
#define KEY_WRITE 0x20006
#define KEY_ALL_ACCESS 0xF003F
#ifndef DELETE
#define DELETE 0x00010000L
#endif
#define REG_CREATED_NEW_KEY 1
#define REG_OPENED_EXISTING_KEY 2
#define STATUS_CALLBACK_BYPASS ((NTSTATUS)0xC0000503L)
NTKERNELAPI NTSTATUS CmRegisterCallbackEx(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude, PVOID Driver, PVOID Context,
    PLARGE_INTEGER Cookie, PVOID Reserved) KIMPORT(CmRegisterCallbackEx);
NTKERNELAPI NTSTATUS CmRegisterCallback(PEX_CALLBACK_FUNCTION Function, PVOID Context, PLARGE_INTEGER Cookie) KIMPORT(CmRegisterCallback);
/* LARGE_INTEGER by value: the import takes its 64 bits (a union is passed indirectly in the WebAssembly C ABI) */
NTKERNELAPI NTSTATUS __psh_CmUnRegisterCallback(LONGLONG Cookie) KIMPORT(CmUnRegisterCallback);
static inline NTSTATUS CmUnRegisterCallback(LARGE_INTEGER Cookie) { return __psh_CmUnRegisterCallback(Cookie.QuadPart); }
NTKERNELAPI NTSTATUS CmCallbackGetKeyObjectIDEx(const LARGE_INTEGER *Cookie, PVOID Object, PULONG_PTR ObjectID, PCUNICODE_STRING *ObjectName,
    ULONG Flags) KIMPORT(CmCallbackGetKeyObjectIDEx);
NTKERNELAPI VOID CmCallbackReleaseKeyObjectIDEx(PCUNICODE_STRING ObjectName) KIMPORT(CmCallbackReleaseKeyObjectIDEx);
NTKERNELAPI NTSTATUS CmCallbackGetKeyObjectID(PLARGE_INTEGER Cookie, PVOID Object, PULONG_PTR ObjectID, PCUNICODE_STRING *ObjectName) KIMPORT(CmCallbackGetKeyObjectID);
NTKERNELAPI VOID CmGetCallbackVersion(PULONG Major, PULONG Minor) KIMPORT(CmGetCallbackVersion);

#include "string.h"
PSH_EXTERN_C_END

#endif /* PSHARNESS_WDM_H */
