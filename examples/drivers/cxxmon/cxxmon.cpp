// cxxmon.cpp: a process, thread and image monitor in the modern C++ style of kernel drivers: a pool-backed
// operator new and delete (MSVC's /kernel provides none), an RAII guard template over a fast mutex, a bounded list of
// events that a user-mode client reads with ReadFile through \\.\CxxMon (buffered I/O; each record carries the
// running count of events dropped), extern "C" DriverEntry, code placed in INIT and PAGE as WDK samples place it.
// Built from a directory (psharness fuzz --driver examples/drivers/cxxmon); cxxmon.psharness.json declares the
// device and its records, so the harness runs a client that opens, reads and closes it.
//
// Twins: ../cxxmon-leak/cxxmon-leak.cpp compiles this file with CXXMON_LEAK_ON_UNLOAD (DriverUnload forgets the
// events still queued: a pool leak at unload); ../cxxmon-reread/cxxmon-reread.cpp with CXXMON_READ_KEEPS_EVENTS
// (a read copies events out but leaves them queued: the client reads one event twice).
#include "pch.h"

constexpr ULONG DRIVER_TAG = 'nomX';
constexpr int MaxEvents = 64;

void* __cdecl operator new(size_t size, POOL_TYPE pool, ULONG tag = DRIVER_TAG) {
    return ExAllocatePoolWithTag(pool, size, tag);
}
void __cdecl operator delete(void* p) { ExFreePoolWithTag(p, DRIVER_TAG); }
void __cdecl operator delete(void* p, size_t) { ExFreePoolWithTag(p, DRIVER_TAG); }

namespace cxxmon {

class FastMutex {
public:
    void Init() { ExInitializeFastMutex(&m_mutex); }
    void Lock() { ExAcquireFastMutex(&m_mutex); }
    void Unlock() { ExReleaseFastMutex(&m_mutex); }
private:
    FAST_MUTEX m_mutex;
};

template <typename TLock>
class AutoLock {
public:
    explicit AutoLock(TLock& lock) : m_lock(lock) { m_lock.Lock(); }
    ~AutoLock() { m_lock.Unlock(); }
    AutoLock(const AutoLock&) = delete;
    AutoLock& operator=(const AutoLock&) = delete;
private:
    TLock& m_lock;
};

enum class EventKind : USHORT { ProcessCreate = 1, ProcessExit, ThreadCreate, ThreadExit, ImageLoad };

// What ReadFile returns: whole records, as many as the buffer holds (cxxmon.psharness.json declares them).
struct EventRecord {
    ULONG Kind;
    ULONG Dropped;
    ULONG64 ProcessId;
    ULONG64 ThreadId;
};
static_assert(sizeof(EventRecord) == 24, "the record the log spec declares");

struct Event {
    LIST_ENTRY Entry;
    EventKind Kind;
    HANDLE ProcessId;
    HANDLE ThreadId;
};

class EventList {
public:
    void Init() { InitializeListHead(&m_head); m_lock.Init(); m_count = 0; m_dropped = 0; }
    void Push(EventKind kind, HANDLE pid, HANDLE tid) {
        auto e = new (NonPagedPool) Event;
        AutoLock<FastMutex> guard(m_lock);
        if (e == nullptr) {
            m_dropped++; // low resources: the event is lost, and said so
            return;
        }
        e->Kind = kind;
        e->ProcessId = pid;
        e->ThreadId = tid;
        if (m_count == MaxEvents) {
            auto oldest = RemoveHeadList(&m_head);
            delete CONTAINING_RECORD(oldest, Event, Entry);
            m_count--;
            m_dropped++;
        }
        InsertTailList(&m_head, &e->Entry);
        m_count++;
    }
    // Copies the oldest events into `out` (room for `max` records) and removes them; returns how many.
    ULONG Pop(EventRecord* out, ULONG max) {
        AutoLock<FastMutex> guard(m_lock);
        ULONG n = 0;
        for (auto entry = m_head.Flink; entry != &m_head && n < max; n++) {
            auto e = CONTAINING_RECORD(entry, Event, Entry);
            out[n].Kind = static_cast<ULONG>(e->Kind);
            out[n].Dropped = m_dropped;
            out[n].ProcessId = reinterpret_cast<ULONG_PTR>(e->ProcessId);
            out[n].ThreadId = reinterpret_cast<ULONG_PTR>(e->ThreadId);
            entry = entry->Flink;
#ifndef CXXMON_READ_KEEPS_EVENTS
            RemoveEntryList(&e->Entry);
            delete e;
            m_count--;
#endif
        }
        return n;
    }
    void Clear() {
        AutoLock<FastMutex> guard(m_lock);
        while (!IsListEmpty(&m_head))
            delete CONTAINING_RECORD(RemoveHeadList(&m_head), Event, Entry);
        m_count = 0;
    }
private:
    LIST_ENTRY m_head;
    FastMutex m_lock;
    int m_count;
    ULONG m_dropped;
};

EventList g_events;

void OnProcess(HANDLE, HANDLE pid, BOOLEAN create) {
    g_events.Push(create ? EventKind::ProcessCreate : EventKind::ProcessExit, pid, nullptr);
}

void OnThread(HANDLE pid, HANDLE tid, BOOLEAN create) {
    g_events.Push(create ? EventKind::ThreadCreate : EventKind::ThreadExit, pid, tid);
}

void OnImage(PUNICODE_STRING, HANDLE pid, PIMAGE_INFO) {
    g_events.Push(EventKind::ImageLoad, pid, nullptr);
}

UNICODE_STRING g_link = RTL_CONSTANT_STRING(L"\\??\\CxxMon");
PDEVICE_OBJECT g_device;

NTSTATUS Complete(PIRP irp, NTSTATUS status, ULONG_PTR information) {
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

// The dispatch routines and DriverUnload run at PASSIVE_LEVEL: pageable.
#pragma code_seg("PAGE")

// IRP_MJ_CREATE and IRP_MJ_CLOSE: anyone may open the device; nothing is kept per open.
NTSTATUS OnCreateClose(PDEVICE_OBJECT, PIRP irp) {
    PAGED_CODE();
    return Complete(irp, STATUS_SUCCESS, 0);
}

// IRP_MJ_READ (buffered I/O): whole records, as many as fit; a buffer too small for one is STATUS_BUFFER_TOO_SMALL.
NTSTATUS OnRead(PDEVICE_OBJECT, PIRP irp) {
    PAGED_CODE();
    auto length = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
    if (length < sizeof(EventRecord))
        return Complete(irp, STATUS_BUFFER_TOO_SMALL, 0);
    auto out = static_cast<EventRecord*>(irp->AssociatedIrp.SystemBuffer);
    auto n = g_events.Pop(out, length / sizeof(EventRecord));
    return Complete(irp, STATUS_SUCCESS, n * sizeof(EventRecord));
}

// The routines that feed the list go first, then the list, then the device clients read it through.
void Unload(PDRIVER_OBJECT) {
    PAGED_CODE();
    PsRemoveLoadImageNotifyRoutine(OnImage);
    PsRemoveCreateThreadNotifyRoutine(OnThread);
    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
#ifndef CXXMON_LEAK_ON_UNLOAD
    g_events.Clear();
#endif
    IoDeleteSymbolicLink(&g_link);
    IoDeleteDevice(g_device);
}
#pragma code_seg()

} // namespace cxxmon

extern "C" DRIVER_INITIALIZE DriverEntry;
#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#endif

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    using namespace cxxmon;
    g_events.Init();
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\CxxMon");
    auto status = IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &g_device);
    if (!NT_SUCCESS(status))
        return status;
    g_device->Flags |= DO_BUFFERED_IO;
    status = IoCreateSymbolicLink(&g_link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(g_device);
        return status;
    }
    driver->MajorFunction[IRP_MJ_CREATE] = OnCreateClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = OnCreateClose;
    driver->MajorFunction[IRP_MJ_READ] = OnRead;
    status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (!NT_SUCCESS(status)) {
        IoDeleteSymbolicLink(&g_link);
        IoDeleteDevice(g_device);
        return status;
    }
    status = PsSetCreateThreadNotifyRoutine(OnThread);
    if (!NT_SUCCESS(status)) {
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        g_events.Clear(); // OnProcess may have run on another CPU already
        IoDeleteSymbolicLink(&g_link);
        IoDeleteDevice(g_device);
        return status;
    }
    status = PsSetLoadImageNotifyRoutine(OnImage);
    if (!NT_SUCCESS(status)) {
        PsRemoveCreateThreadNotifyRoutine(OnThread);
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        g_events.Clear();
        IoDeleteSymbolicLink(&g_link);
        IoDeleteDevice(g_device);
        return status;
    }
    driver->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
