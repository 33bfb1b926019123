/**
 * The file objects clients open on the driver's device, and what their completions leave the I/O manager to do:
 * an IRP_MJ_CLOSE once the last IRP on a cleaned-up file is gone, a listening client's next request.
 */
import type { KProcess } from '../ps/objects.js';

/** A file object a client opened on the driver's device (CreateFile through its symbolic link). */
export interface KFileObject {
  /** Its number among the file objects of the run (IrpRecord.file). */
  readonly serial: number;
  readonly va: number;
  readonly process: KProcess;
  /** The DEVICE_OBJECT it was opened on. */
  readonly device: number;
  /** open; cleaned-up (its handle closed: IRP_MJ_CLEANUP sent); closing (IRP_MJ_CLOSE in progress); closed. */
  state: 'open' | 'cleaned-up' | 'closing' | 'closed';
  /** IRPs sent on it and not yet completed: each holds a reference to it. */
  pending: number;
  /**
   * A listening client (the "inverted call" of a monitoring service): it keeps one DeviceIoControl with this code
   * outstanding, sending the next as soon as one completes successfully, until it closes the handle.
   */
  readonly listen?: { readonly ioctl: number; readonly outputLength: number };
}

export class FileObjects {
  /** Every file object a client opened in this run. */
  readonly files: KFileObject[] = [];
  /** File objects opened so far (the next one's serial is one more). */
  opened = 0;
  /** Client I/O the kernel owes once the current operation's driver code has returned (closes, a deferred unload). */
  readonly ioWork: KFileObject[] = [];
  /** Listening clients whose request just completed: each sends the next one. */
  readonly reissue: KFileObject[] = [];

  /** A file object is still open (or closing) on the driver's devices: its unload must wait. */
  driverDevicesOpen(): boolean {
    return this.files.some((f) => f.state !== 'closed');
  }
}
