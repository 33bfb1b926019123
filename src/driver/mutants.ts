/**
 * The mutant catalogue: the reference driver with one realistic bug each (the mistakes kernel-driver authors
 * actually make), the invariant that should catch it, and the documented minimal scenario that shows it.
 * `npm test` replays every minimal scenario (a kill without random search); `npm run bench` measures how fast
 * the fuzzer finds and shrinks each one from scratch.
 */
import type { Op } from '../model/ops.js';
import type { Scenario } from '../model/scenario.js';
import {
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_COLLISION,
} from '../model/status.js';
import { makeMonitor, type MutationPoint } from './reference.js';
import type { DriverModule } from './types.js';

export interface Mutant {
  readonly id: MutationPoint;
  /** The mistake, as a reviewer would write it up. */
  readonly mistake: string;
  /** The invariant that must catch it. */
  readonly invariant: string;
  readonly minimal: Scenario;
  readonly driver: DriverModule;
}

const VOL = '\\Device\\HarddiskVolume1\\Windows';

function scenario(ops: Op[], extra: Partial<Scenario> = {}): Scenario {
  return { build: 'winxp-x86', profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops, ...extra };
}

const create = (id: string, thread: string, file = 'a.exe', more: Partial<Extract<Op, { op: 'CreateProcess' }>> = {}): Op =>
  ({ op: 'CreateProcess', id, thread, parent: 'System', path: `${VOL}\\${file}`, ...more });
const driverLoad: Op = { op: 'LoadImage', process: 'System', path: '\\SystemRoot\\System32\\drivers\\other.sys' };
const unload: Op = { op: 'UnloadDriver' };
const fault = (ddi: string, nth: number, status: number) => ({ faults: [{ ddi, nth, status }] });

type Entry = [MutationPoint, string, string, Scenario];

const ENTRIES: Entry[] = [
  ['no-deref-process-create', 'no ObDereferenceObject after the lookup in the process-create path', 'references-balanced', scenario([create('P1', 'T1')])],
  ['no-deref-thread-create', 'no ObDereferenceObject after the lookup in the thread-create path', 'references-balanced', scenario([create('P1', 'T1')])],
  ['double-deref', 'ObDereferenceObject called twice for one lookup (thread create)', 'references-balanced', scenario([create('P1', 'T1')])],
  ['deref-after-failed-lookup', 'ObDereferenceObject on the NULL pointer a failed lookup left behind', 'no-bugcheck',
    scenario([create('P1', 'T1')], fault('PsLookupProcessByProcessId', 1, STATUS_INVALID_PARAMETER))],
  ['unset-pointer-after-failed-lookup', 'lookup status ignored: the name is read through the uninitialised PEPROCESS', 'lookup-failure-handled',
    scenario([create('P1', 'T1')], fault('PsLookupProcessByProcessId', 1, STATUS_INVALID_PARAMETER))],
  ['offset-xp', "ImageFileName read at XP's hard-coded offset 0x174", 'process-name-correct', scenario([create('P1', 'T1')], { build: 'win2003-x86' })],
  ['offset-win7', "ImageFileName read at Windows 7's hard-coded offset (x64 0x2E0)", 'process-name-correct', scenario([create('P1', 'T1')], { build: 'win10-x64' })],
  ['name-buffer-off-by-one', 'the name copied into char name[15]: no room for the NUL of a 15-character name (DbgPrint reads past the block: special pool, 0xCD)', 'no-bugcheck',
    scenario([create('P1', 'T1', 'fifteen_chars.e')])],
  ['path-as-narrow', 'FullImageName->Buffer printed with %s (UTF-16 as a narrow string)', 'image-path-full', scenario([driverLoad])],
  ['path-ws-ignores-length', 'FullImageName->Buffer printed with %ws: reads past Length to a NUL that need not be there', 'image-path-full', scenario([driverLoad])],
  ['path-wz-on-buffer', '%wZ given the Buffer instead of the UNICODE_STRING', 'no-bugcheck', scenario([driverLoad])],
  ['path-length-as-chars', 'UNICODE_STRING.Length (bytes) used as a character count', 'image-path-full', scenario([driverLoad])],
  ['no-rollback-link', 'IoCreateSymbolicLink failure returns without deleting the device', 'failed-entry-clean',
    scenario([], fault('IoCreateSymbolicLink', 1, STATUS_OBJECT_NAME_COLLISION))],
  ['no-rollback-process', 'process-routine registration failure returns without deleting link and device', 'failed-entry-clean',
    scenario([], fault('PsSetCreateProcessNotifyRoutine', 1, STATUS_INVALID_PARAMETER))],
  ['no-rollback-thread', 'thread-routine registration failure leaves the process routine, link and device', 'failed-entry-clean',
    scenario([], fault('PsSetCreateThreadNotifyRoutine', 1, STATUS_INSUFFICIENT_RESOURCES))],
  ['no-rollback-image', 'image-routine registration failure leaves thread and process routines, link and device', 'failed-entry-clean',
    scenario([], fault('PsSetLoadImageNotifyRoutine', 1, STATUS_INSUFFICIENT_RESOURCES))],
  ['rollback-undoes-failed-step', 'rollback removes the routine that failed to register, and gives up when that fails', 'failed-entry-clean',
    scenario([], fault('PsSetCreateThreadNotifyRoutine', 1, STATUS_INSUFFICIENT_RESOURCES))],
  ['rollback-wrong-order', 'rollback deletes link and device before unregistering the routines', 'teardown-order',
    scenario([], fault('PsSetLoadImageNotifyRoutine', 1, STATUS_INSUFFICIENT_RESOURCES))],
  ['unload-forgets-image', 'DriverUnload does not remove the load-image routine', 'unload-clean', scenario([unload])],
  ['unload-forgets-thread', 'DriverUnload does not remove the thread routine', 'unload-clean', scenario([unload])],
  ['unload-wrong-order', 'DriverUnload deletes link and device before unregistering the routines', 'teardown-order', scenario([unload])],
  ['unload-leaks-link', 'DriverUnload forgets IoDeleteSymbolicLink', 'unload-clean', scenario([unload])],
  ['no-unload-routine', 'no DriverUnload: the driver can never be stopped', 'driver-unloadable', scenario([unload])],
  ['stale-name-cache', 'PID → name cache filled on create and never invalidated on exit', 'pid-reuse-attribution',
    scenario([create('P1', 'T1', 'a.exe'), { op: 'ExitProcess', process: 'P1' }, create('P2', 'T2', 'b.exe')], { reusePolicy: 'lifo' })],
  ['exit-only-if-lookup', 'process exit logged only when a lookup in the exit path succeeds', 'events-logged-once',
    scenario([create('P1', 'T1'), { op: 'ExitProcess', process: 'P1' }], fault('PsLookupProcessByProcessId', 3, STATUS_INVALID_PARAMETER))],
  ['skip-system-images', 'image loads with ProcessId 0 (drivers) skipped', 'events-logged-once', scenario([driverLoad])],
  ['parent-is-creator', 'PsGetCurrentProcessId() logged as the parent (the creator is not always the parent)', 'events-logged-once',
    scenario([create('P1', 'T1'), create('P2', 'T2', 'b.exe', { creator: 'P1' })])],
  ['thread-exit-as-process-exit', 'a thread exit logged as a process exit', 'events-logged-once',
    scenario([create('P1', 'T1'), { op: 'ExitProcess', process: 'P1' }])],
  ['long-path-one-call', 'the whole image path in one DbgPrint call, past the 512-byte limit', 'dbgprint-limit',
    scenario([create('P1', 'T1', `${'deep_directory\\'.repeat(35)}a.exe`)])],
  ['pointer-as-ulong', 'EPROCESS address and image base printed with %08X (32 bits)', 'pointers-full-width', scenario([create('P1', 'T1')], { build: 'win10-x64' })],
  ['pool-leak-on-unload', 'a pool buffer allocated in DriverEntry is not freed in DriverUnload', 'pool-released', scenario([unload])],
  ['irp-read-after-complete', 'the dispatch routine returns Irp->IoStatus.Status read after IoCompleteRequest', 'irp-completion',
    scenario([{ op: 'DeviceRequest', major: 'IRP_MJ_CREATE' }])],
  ['irp-not-completed', 'a refused DeviceIoControl returns its status without completing the IRP', 'irp-completion',
    scenario([{ op: 'DeviceRequest', major: 'IRP_MJ_DEVICE_CONTROL', ioctl: 0x222000 }])],
];

export const MUTANTS: readonly Mutant[] = ENTRIES.map(([id, mistake, invariant, minimal]) => ({
  id, mistake, invariant, minimal, driver: makeMonitor(id, 'psrefmon', `mutant: ${mistake}`),
}));

export function getMutant(id: string): Mutant | undefined {
  return MUTANTS.find((m) => m.id === id);
}
