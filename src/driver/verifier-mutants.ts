/**
 * The verifier's mutant catalogue: examples/drivers/vfmon.c compiled with -DPSH_MUTANT=n plants one memory or
 * IRQL bug each (mutant schemata: one source, one switch per mutant). Each entry names the check that must
 * catch it, the Windows bug check (or verifier stop) it raises, and its documented minimal scenario.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Op, Scenario } from '../model/index.js';
import type { DriverModule } from './types.js';
import { loadWasmDriver } from './wasm/loader.js';

export interface VerifierMutant {
  readonly id: string;
  readonly schema: number;
  readonly mistake: string;
  /** The invariant that reports it. */
  readonly invariant: 'no-bugcheck' | 'kernel-memory-owned' | 'uninitialized-use';
  /** The bug check code Windows raises (null: a verifier stop, no bug check at that instant). */
  readonly bugCheck: number | null;
  /** Parameter 1 of the bug check where it identifies the rule (0xC4, 0xC2). */
  readonly parameter1?: string;
  readonly check: string;
  readonly minimal: Scenario;
}

const VOL = '\\Device\\HarddiskVolume1';
const create: Op = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\Windows\\notepad.exe` };
const exit: Op = { op: 'ExitProcess', process: 'P1' };
const create2: Op = { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\Windows\\calc.exe` };
const unload: Op = { op: 'UnloadDriver' };

function scenario(ops: Op[], faults: Scenario['faults'] = []): Scenario {
  return { build: 'winxp-x86', profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults, ops };
}

export const VERIFIER_MUTANTS: readonly VerifierMutant[] = [
  { id: 'free-before-unlink', schema: 1, mistake: 'the record is freed, then unlinked from the list', invariant: 'no-bugcheck', bugCheck: 0xd5, check: 'special-pool', minimal: scenario([create, exit]) },
  { id: 'freed-entry-left-in-list', schema: 2, mistake: 'RemoveEntryList deleted: a freed record stays in the list and the next walk reads it', invariant: 'no-bugcheck', bugCheck: 0xd5, check: 'special-pool', minimal: scenario([create, exit, create2]) },
  { id: 'free-wrong-tag', schema: 3, mistake: 'ExFreePoolWithTag with the name buffer\'s tag', invariant: 'no-bugcheck', bugCheck: 0xc2, parameter1: '0xA', check: 'pool-tracking', minimal: scenario([create, exit]) },
  { id: 'double-free-on-unload', schema: 4, mistake: 'DriverUnload frees each record twice', invariant: 'no-bugcheck', bugCheck: 0xc2, parameter1: '0x7', check: 'pool-tracking', minimal: scenario([create, unload]) },
  { id: 'name-terminator-past-end', schema: 5, mistake: 'the name\'s NUL written one byte past the buffer', invariant: 'no-bugcheck', bugCheck: 0xd6, check: 'special-pool', minimal: scenario([create]) },
  { id: 'name-buffer-no-room-for-nul', schema: 6, mistake: 'the name buffer allocated strlen bytes: no room for the NUL', invariant: 'no-bugcheck', bugCheck: 0xd6, check: 'special-pool', minimal: scenario([create]) },
  { id: 'log-uninitialised-field', schema: 7, mistake: 'ParentId never set in the pool record, then logged at exit', invariant: 'uninitialized-use', bugCheck: null, check: 'uninitialized-use', minimal: scenario([create, exit]) },
  { id: 'wz-under-spin-lock', schema: 8, mistake: '%wZ printed while holding a spin lock (DISPATCH_LEVEL)', invariant: 'no-bugcheck', bugCheck: 0xc4, parameter1: '0xE5', check: 'irql', minimal: scenario([create]) },
  { id: 'lookup-under-spin-lock', schema: 9, mistake: 'PsLookupProcessByProcessId called under a spin lock', invariant: 'no-bugcheck', bugCheck: 0xc4, parameter1: '0xE5', check: 'irql', minimal: scenario([create]) },
  { id: 'return-holding-fast-mutex', schema: 10, mistake: 'the create path returns without ExReleaseFastMutex', invariant: 'no-bugcheck', bugCheck: 0xc4, parameter1: '0x2001D', check: 'locks', minimal: scenario([create]) },
  { id: 'early-return-skips-release', schema: 11, mistake: 'the exit path of a process it does not track (its record could not be allocated) returns before releasing the mutex', invariant: 'no-bugcheck', bugCheck: 0xc4, parameter1: '0x2001D', check: 'locks',
    minimal: scenario([create, exit], [{ ddi: 'ExAllocatePoolWithTag', nth: 2, status: 0xc0000001 }]) },
  { id: 'write-into-eprocess', schema: 12, mistake: 'the name "truncated" by writing into EPROCESS.ImageFileName', invariant: 'kernel-memory-owned', bugCheck: null, check: 'kernel-memory-owned', minimal: scenario([create]) },
  { id: 'unload-holding-fast-mutex', schema: 13, mistake: 'ExReleaseFastMutex deleted from DriverUnload', invariant: 'no-bugcheck', bugCheck: 0xc4, parameter1: '0x2001D', check: 'locks', minimal: scenario([unload]) },
  { id: 'paged-counters-at-dispatch', schema: 14, mistake: 'counters updated under a spin lock allocated from PagedPool', invariant: 'no-bugcheck', bugCheck: 0xd1, check: 'irql', minimal: scenario([create]) },
];

/** examples/drivers/vfmon.c in this installation. */
export function vfmonSource(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/drivers/vfmon.c');
}

/** The compiled mutant (or, for schema 0, the correct driver). */
export async function loadVerifierMutant(schema: number, options: { verifier?: boolean; coverage?: boolean } = {}): Promise<DriverModule> {
  const name = schema === 0 ? 'vfmon' : `vfmon-${VERIFIER_MUTANTS.find((m) => m.schema === schema)?.id ?? schema}`;
  return loadWasmDriver(vfmonSource(), { defines: { PSH_MUTANT: String(schema) }, name, ...options });
}
