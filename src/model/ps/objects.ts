/**
 * The process and thread objects (EPROCESS, ETHREAD) as the process manager keeps them: identity, life state, and
 * the reference counts the object manager keeps on them. Types only: every component speaks of processes.
 */

export type ProcessState = 'active' | 'exited' | 'deleted';

export interface KProcess {
  readonly serial: number;
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly imagePath: string | null;
  readonly eprocess: number;
  readonly threads: KThread[];
  activeThreads: number;
  state: ProcessState;
  pointerCount: number;
  driverRefs: number;
  userImages: number;
  /** PS_CREATE_NOTIFY_INFO.CreationStatus as the create routines left it (0 until they ran). */
  creationStatus: number;
  /** When it was created (FILETIME, from the simulated clock). */
  readonly createTime: bigint;
  /** Terminal Services session: 0 for System, 1 for every other process (CHOICE: one interactive session). */
  readonly sessionId: number;
  /** Its PEB's user-mode address (NULL for System). */
  readonly peb: number;
}

export interface KThread {
  readonly serial: number;
  readonly tid: number;
  readonly process: KProcess;
  readonly ethread: number;
  state: ProcessState;
  pointerCount: number;
  driverRefs: number;
}

/** What a client ID (a PID or TID in the CID table) or an object pointer names. */
export type CidObject = { readonly kind: 'process'; readonly p: KProcess } | { readonly kind: 'thread'; readonly t: KThread };
