/**
 * Routines a driver may call through a pointer from MmGetSystemRoutineAddress, with their WDK signatures: `p` a
 * pointer-sized value (HANDLE, PVOID, ULONG_PTR: i32 on x86, i64 on x64), `i` a 32-bit one (NTSTATUS, ULONG,
 * BOOLEAN, an enum), parameters then result. The table of a module can only hold WebAssembly functions, so each is
 * re-exported by a tiny generated module (imports in, exports out) and placed in the driver's table on demand.
 */
export const DYNAMIC_ROUTINES: ReadonlyMap<string, string> = new Map([
  ['PsGetProcessImageFileName', 'p>p'], ['PsGetProcessId', 'p>p'],
  ['PsRemoveCreateThreadNotifyRoutine', 'p>i'], ['PsRemoveLoadImageNotifyRoutine', 'p>i'],
  ['PsSetCreateProcessNotifyRoutineEx', 'pi>i'], ['PsSetCreateThreadNotifyRoutineEx', 'ip>i'], ['PsSetLoadImageNotifyRoutineEx', 'pp>i'],
  ['PsSetCreateProcessNotifyRoutineEx2', 'ipi>i'], ['PsLookupProcessByProcessId', 'pp>i'], ['PsLookupThreadByThreadId', 'pp>i'],
  ['ObfDereferenceObject', 'p>p'], ['ObfReferenceObject', 'p>p'],
]);

/**
 * The fibers build exports `__psh_dyn_<routine>` for each, calling its import `psharness.dyn_<routine>`: a call
 * through the pointer then stays inside the module asyncify instruments, so it can wait (and be switched out).
 */
export const DYNAMIC_EXPORT_PREFIX = '__psh_dyn_';
export const DYNAMIC_IMPORT_PREFIX = 'dyn_';
