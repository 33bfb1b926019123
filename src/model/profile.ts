/**
 * The kernel profile: named alternatives where the sources disagree (DESIGN.md "Modelling decisions"). Each is a
 * choice the model makes explicitly; docs/kernel-semantics.md says which one each invariant assumes.
 */

export interface KernelProfile {
  readonly id: 'documented' | 'adversarial';
  /**
   * After a failed DriverEntry (or an unload) that leaves device objects: 'freed' = the image is freed, as the
   * documentation says ([DOC] kernel/unload-routine-environment.md); 'pinned-by-devices' = every device object
   * references the driver object, so the image stays resident and its routines keep firing ([WRK] io/iomgr).
   */
  readonly leakedDeviceImage: 'freed' | 'pinned-by-devices';
  /** Order of the initial thread's thread notify relative to the process notify (NT 5.2: process first; Vista+ UNCONFIRMED). */
  readonly initialThreadNotify: 'process-first' | 'thread-first';
  /** Whether exit ops may carry a lookup race (the PID gone or reused when the driver looks it up). */
  readonly exitLookupRaces: boolean;
}

export const PROFILES: Readonly<Record<'documented' | 'adversarial', KernelProfile>> = {
  documented: { id: 'documented', leakedDeviceImage: 'freed', initialThreadNotify: 'process-first', exitLookupRaces: false },
  adversarial: { id: 'adversarial', leakedDeviceImage: 'freed', initialThreadNotify: 'process-first', exitLookupRaces: true },
};
