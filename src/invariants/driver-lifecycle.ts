import { getBuild } from '../model/builds.js';
import type { DdiCallRecord, Residue } from '../model/record.js';
import { NT_SUCCESS, STATUS_SUCCESS, statusFromRecord } from '../model/status.js';
import { gaveNothing, type Invariant, type Violation } from './types.js';

function leftovers(r: Residue): string[] {
  return [...r.registrations, ...r.devices.map((d) => `device ${d}`), ...r.links.map((l) => `symbolic link ${l}`)];
}

/**
 * A failed DriverEntry leaves nothing: Unload is never called and the image goes, so every routine it registered,
 * device and link must be undone in reverse ([DOC] kernel/unload-routine-environment.md; Microsoft sample
 * general/obcallback DriverEntry).
 */
export const failedEntryClean: Invariant = {
  id: 'failed-entry-clean',
  needsOutput: false,
  statement: 'after a failed DriverEntry nothing of the driver remains: no notify routine, no device, no symbolic link',
  source: 'WDK: Unload is not called when DriverEntry fails; routines left registered → bug check 0xCE',
  seedBug: 5,
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      if (ph.phase !== 'DriverEntry' || ph.residue === undefined) continue;
      // one failure path that does not undo what came before is one bug, however much it leaves
      const left = leftovers(ph.residue);
      if (left.length > 0) {
        out.push({ invariant: this.id, message: `DriverEntry failed with ${ph.status} and left ${left.join(', ')}`, evidence: { op: ph.op, seq: ph.seq, event: `DriverEntry returned ${ph.status}`, actual: left } });
      }
    }
    return out;
  },
};

/** A DDI call that failed: an error NTSTATUS, an injected fault, or a system routine the build does not export. */
function failedCall(d: DdiCallRecord): boolean {
  if (gaveNothing(d)) return true;
  return d.status !== undefined && !NT_SUCCESS(statusFromRecord(d.status) ?? STATUS_SUCCESS);
}

/**
 * DriverEntry fails only for a reason: some DDI it called failed (an error status, an injected fault, an export the
 * build lacks). A monitor whose DriverEntry fails when everything it asked for succeeded never loads on any machine
 * (typically it returns an uninitialised or stale status) — and every other invariant then holds vacuously.
 * [DOC] DRIVER_INITIALIZE: "If the routine fails, it must free any resources it allocated and return an error status".
 */
export const entryFailureJustified: Invariant = {
  id: 'entry-failure-justified',
  needsOutput: false,
  statement: 'DriverEntry returns an error only after a DDI it called failed (error status, injected fault, missing export)',
  source: 'WDK: DRIVER_INITIALIZE callback function (return value)',
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      if (ph.phase !== 'DriverEntry' || ph.outcome !== 'returned' || ph.status === undefined) continue;
      if (NT_SUCCESS(statusFromRecord(ph.status) ?? STATUS_SUCCESS) || ph.ddi.some(failedCall)) continue;
      out.push({
        invariant: this.id,
        message: `DriverEntry returned ${ph.status} although every DDI it called (${ph.ddi.length}) succeeded`,
        evidence: { op: ph.op, seq: ph.seq, event: `DriverEntry returned ${ph.status}`, actual: ph.ddi.map((d) => d.name) },
      });
    }
    return out;
  },
};

/** After DriverUnload no routine, device or link of the driver remains ([DOC] PsSetCreateProcessNotifyRoutine: remove before unload; bug check 0xCE). */
export const unloadClean: Invariant = {
  id: 'unload-clean',
  needsOutput: false,
  statement: 'after unload no routine of the driver stays registered (else bug check 0xCE), and no device or link stays',
  source: 'WDK: bug check 0xCE DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS; PsRemove*NotifyRoutine pages',
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      if (ph.phase !== 'DriverUnload' || ph.residue === undefined) continue;
      // each thing left is its own omission in DriverUnload: one violation each (one root cause, one finding)
      for (const left of leftovers(ph.residue)) out.push({ invariant: this.id, message: `after DriverUnload: ${left}`, evidence: { op: ph.op, seq: ph.seq, event: 'DriverUnload returned', actual: [left] } });
    }
    return out;
  },
};

/**
 * A driver can be stopped: NtUnloadDriver refuses a driver without DriverUnload (STATUS_INVALID_DEVICE_REQUEST,
 * [WRK] io/iomgr/loadunld.c; Verifier "will fail any driver that does not provide an Unload routine").
 * Exception: on a build that cannot remove thread/image routines (Windows 2000) a driver that registered them must
 * stay loaded (2000 DDK), so having no DriverUnload is then right.
 */
export const driverUnloadable: Invariant = {
  id: 'driver-unloadable',
  needsOutput: false,
  statement: 'an unload request succeeds: the driver has a DriverUnload (unless the build cannot remove its routines)',
  source: 'WDK: DRIVER_UNLOAD; Driver Verifier requires an Unload routine; 2000 DDK: thread/image callbacks pin the driver',
  seedBug: 6,
  check({ record }) {
    const out: Violation[] = [];
    const pinnedByBuild = !getBuild(record.build).hasXpExports;
    for (const ph of record.phases) {
      if (ph.phase !== 'Unload' || ph.outcome !== 'refused') continue;
      if (pinnedByBuild) continue;
      out.push({ invariant: this.id, message: `unload refused with ${ph.status}: ${ph.note ?? 'no DriverUnload'}`, evidence: { op: ph.op, seq: ph.seq, event: 'NtUnloadDriver' } });
    }
    return out;
  },
};

function isRemoval(d: DdiCallRecord): boolean {
  return d.name === 'PsRemoveCreateThreadNotifyRoutine' || d.name === 'PsRemoveLoadImageNotifyRoutine'
    || (d.name.startsWith('PsSetCreateProcessNotifyRoutine') && d.args.includes('Remove=TRUE'));
}

/**
 * Teardown unregisters the notify routines before it deletes the device and link they may use: a routine can be
 * running on another CPU until its removal returns ([DOC] PsRemove* pages: removal waits for in-flight callbacks;
 * Microsoft sample general/obcallback TdDeviceUnload; sandboxie-plus PR #5329).
 */
export const teardownOrder: Invariant = {
  id: 'teardown-order',
  needsOutput: false,
  statement: 'on unload or rollback the notify routines are removed before the device and symbolic link are deleted',
  source: 'WDK PsRemove*NotifyRoutine (waits for in-flight callbacks); Microsoft sample obcallback unload order',
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      if (ph.phase !== 'DriverUnload' && !(ph.phase === 'DriverEntry' && ph.residue !== undefined)) continue;
      let lastRemoval = -1;
      ph.ddi.forEach((d, i) => {
        if (isRemoval(d)) lastRemoval = i;
      });
      const early = ph.ddi.findIndex((d, i) => i < lastRemoval && (d.name === 'IoDeleteDevice' || d.name === 'IoDeleteSymbolicLink'));
      if (early >= 0) {
        const d = ph.ddi[early];
        out.push({
          invariant: this.id,
          message: `${ph.phase}: ${d.name}(${d.args.join(', ')}) before ${ph.ddi[lastRemoval].name}(${ph.ddi[lastRemoval].args[0]})`,
          evidence: { op: ph.op, seq: ph.seq, event: ph.phase, actual: ph.ddi.map((x) => x.name) },
        });
      }
    }
    return out;
  },
};

/**
 * Pool the driver allocated is freed by the time it unloads (or its DriverEntry fails): Driver Verifier's pool
 * tracking bug-checks 0xC4 (0x62) on unload with outstanding allocations ([DOC] bug-check-0xc4).
 */
export const poolReleased: Invariant = {
  id: 'pool-released',
  needsOutput: false,
  statement: 'no pool allocation of the driver outlives its unload or its failed DriverEntry',
  source: 'WDK: Driver Verifier pool tracking, bug check 0xC4 parameter 0x62 (driver unloading without freeing its pool)',
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      if (ph.residue === undefined || ph.residue.pool.length === 0) continue;
      out.push({ invariant: this.id, message: `${ph.phase === 'DriverEntry' ? `DriverEntry failed (${ph.status})` : 'after DriverUnload'}: ${ph.residue.pool.length} pool block(s) not freed (${ph.residue.pool.slice(0, 4).join(', ')})`, evidence: { op: ph.op, seq: ph.seq, event: ph.phase, actual: ph.residue.pool } });
    }
    return out;
  },
};
