/**
 * Registry callbacks: the names a driver takes must go back, and a guard blocks exactly what it declares.
 */
import type { RegistryGuard } from '../model/driver-output.js';
import type { RegistryOpRecord } from '../model/record.js';
import { heldAtUnloadByRoutine, type Invariant, type Violation } from './types.js';

/**
 * CmCallbackGetKeyObjectIDEx hands out a new string on each call, which "the caller must free by calling
 * CmCallbackReleaseKeyObjectIDEx" ([DOC] wdm/nf-wdm-cmcallbackgetkeyobjectidex). One a driver still holds after
 * its DriverUnload returned can never be freed: paged pool lost for good, once per registry operation on Windows.
 * Names held while the driver stays loaded are not judged (a driver may cache them until it unloads).
 */
export const registryKeyNamesReleased: Invariant = {
  id: 'registry-key-names-released',
  statement: 'every key-object name CmCallbackGetKeyObjectIDEx gives the driver is released with CmCallbackReleaseKeyObjectIDEx before it unloads',
  source: 'WDK: CmCallbackGetKeyObjectIDEx (ObjectName: "the caller must free ... by calling CmCallbackReleaseKeyObjectIDEx")',
  needsOutput: false,
  check({ record }) {
    return heldAtUnloadByRoutine(record.end?.keyObjectNames ?? []).map(([routine, names]): Violation => ({
      invariant: this.id,
      message: `${routine} took ${names.length} key-object name(s) with CmCallbackGetKeyObjectIDEx and never released them (first: ${names[0].key}, op ${names[0].op}); the driver unloaded holding them`,
      evidence: { op: names[0].op, ...(names[0].seq !== undefined ? { seq: names[0].seq } : {}), event: `CmCallbackGetKeyObjectIDEx for ${names[0].key}`, expected: 'CmCallbackReleaseKeyObjectIDEx', actual: `${names.length} unreleased at DriverUnload` },
      symptom: routine,
    }));
  },
};

const WRITES: ReadonlySet<string> = new Set(['CreateKey', 'SetValue', 'DeleteValue', 'DeleteKey', 'RenameKey']);

/** The key a guard names, for this driver: `%SERVICE%` is its service name. */
function guardedPath(g: RegistryGuard, driver: string): string {
  return g.key.replace(/%SERVICE%/gi, driver).toUpperCase();
}

/** `path` is `key` or below it (registry names are case-insensitive). */
function under(path: string, key: string): boolean {
  const p = path.toUpperCase();
  return p === key || p.startsWith(`${key}\\`);
}

/** The guard an operation falls under as a write its caller may not make, if any. */
function forbidding(op: RegistryOpRecord, guards: readonly RegistryGuard[], driver: string): RegistryGuard | undefined {
  if (!WRITES.has(op.operation)) return undefined;
  // the key's name where the write landed (the caller's name if it was never opened): a key a writer renamed away
  // from the guarded name on another CPU, before the write, is not the guarded key any more —
  // CmCallbackGetKeyObjectIDEx gives the driver its new name, and the service no longer reads it
  const path = op.target ?? op.key;
  return guards.find((g) => {
    if (!under(path, guardedPath(g, driver))) return false;
    const caller = op.process.toLowerCase();
    return !g.writers.some((w) => (w === 'System' ? op.process === 'System' : w.toLowerCase() === caller));
  });
}

/**
 * A registry guard's contract, as its log spec declares it (`registry.guards`): a write to a guarded key by a caller
 * that is not one of its writers fails, and no other operation does because of the driver — a pre-notification that
 * returns an error blocks the operation for its caller ([DOC] kernel/handling-notifications), so a guard that blocks
 * the wrong caller (a prefix match that takes in another service's key, a check on the wrong notification) breaks
 * that caller on Windows; one that misses a write (a case-sensitive comparison) lets the tampering through.
 */
export const registryGuardExact: Invariant = {
  id: 'registry-guard-exact',
  statement: 'writes to a guarded registry key by callers that are not its writers fail, and the driver blocks no other registry operation',
  source: 'WDK: Handling Notifications (blocking registry calls), REG_NOTIFY_CLASS; the log spec\'s registry.guards',
  needsOutput: false,
  check({ record, registryGuards }) {
    if (registryGuards === undefined || record.registry === undefined) return [];
    const out: Violation[] = [];
    for (const op of record.registry) {
      // a guard unloaded (or whose registration failed) guards nothing: Windows lets the write through
      if (!op.registered) continue;
      const guard = forbidding(op, registryGuards, record.driver);
      const what = `${op.operation} on ${op.target ?? op.key}${op.name !== undefined ? ` (${op.name})` : ''} by ${op.process} (pid ${op.pid})`;
      if (guard !== undefined && op.blocked === undefined && op.native === 'STATUS_SUCCESS' && op.status === 'STATUS_SUCCESS') {
        out.push({
          invariant: this.id,
          message: `${what} went through: ${guardedPath(guard, record.driver)} is guarded, and ${op.process} is not one of its writers (${guard.writers.join(', ')})`,
          evidence: { op: op.op, event: what, expected: 'an error status', actual: op.status },
          symptom: 'a guarded write went through',
        });
      } else if (guard === undefined && op.blocked !== undefined) {
        out.push({
          invariant: this.id,
          message: `${op.blocked.routine} blocked ${what} with ${op.blocked.returned} at ${op.blocked.notifyClass}: the guard covers no such operation`,
          evidence: { op: op.op, event: what, expected: 'the registry\'s own outcome', actual: op.status },
          symptom: 'an operation the guard does not cover was blocked',
        });
      }
    }
    return out;
  },
};
