// cxxmon.cpp: a process, thread and image monitor in the modern C++ style of kernel drivers: a pool-backed
// operator new and delete (MSVC's /kernel provides none), an RAII guard template over a fast mutex, a bounded list of
// events, extern "C" DriverEntry. Built from a directory (psharness fuzz --driver examples/drivers/cxxmon).
//
// The twin ../cxxmon-leak/cxxmon-leak.cpp compiles this file with CXXMON_LEAK_ON_UNLOAD: DriverUnload then forgets
// the events still queued, a pool leak at unload.
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

enum class EventKind : USHORT { ProcessCreate, ProcessExit, ThreadCreate, ThreadExit, ImageLoad };

struct Event {
    LIST_ENTRY Entry;
    EventKind Kind;
    HANDLE ProcessId;
    HANDLE ThreadId;
};

class EventList {
public:
    void Init() { InitializeListHead(&m_head); m_lock.Init(); }
    void Push(EventKind kind, HANDLE pid, HANDLE tid) {
        auto e = new (NonPagedPool) Event;
        if (e == nullptr)
            return; // dropped under low resources
        e->Kind = kind;
        e->ProcessId = pid;
        e->ThreadId = tid;
        AutoLock<FastMutex> guard(m_lock);
        if (m_count == MaxEvents) {
            auto oldest = RemoveHeadList(&m_head);
            delete CONTAINING_RECORD(oldest, Event, Entry);
            m_count--;
        }
        InsertTailList(&m_head, &e->Entry);
        m_count++;
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

void Unload(PDRIVER_OBJECT) {
    PsRemoveLoadImageNotifyRoutine(OnImage);
    PsRemoveCreateThreadNotifyRoutine(OnThread);
    PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
#ifndef CXXMON_LEAK_ON_UNLOAD
    g_events.Clear();
#endif
}

} // namespace cxxmon

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
    using namespace cxxmon;
    g_events.Init();
    auto status = PsSetCreateProcessNotifyRoutine(OnProcess, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    status = PsSetCreateThreadNotifyRoutine(OnThread);
    if (!NT_SUCCESS(status)) {
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        g_events.Clear(); // OnProcess may have run on another CPU already
        return status;
    }
    status = PsSetLoadImageNotifyRoutine(OnImage);
    if (!NT_SUCCESS(status)) {
        PsRemoveCreateThreadNotifyRoutine(OnThread);
        PsSetCreateProcessNotifyRoutine(OnProcess, TRUE);
        g_events.Clear();
        return status;
    }
    driver->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
