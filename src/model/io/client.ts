/**
 * A user-mode client of the driver's device, as the I/O manager serves it: CreateFile on the driver's symbolic link
 * (a FILE_OBJECT and IRP_MJ_CREATE), DeviceIoControl and ReadFile with the caller's buffers as each transfer method
 * passes them, CloseHandle (IRP_MJ_CLEANUP, then IRP_MJ_CLOSE once no IRP holds the file), and a process's handles
 * closed as it exits ([DOC] IRP_MJ_CREATE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, Buffer Descriptions for I/O Control Codes).
 */
import type { KernelCore } from '../ke/core.js';
import type { DeviceEntry, ObjectNamespace } from '../ob/namespace.js';
import type { KProcess, KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import { NT_SUCCESS, STATUS_ACCESS_VIOLATION, STATUS_PENDING, statusName } from '../status.js';
import type { DriverLoader } from './driver-loader.js';
import type { FileObjects, KFileObject } from './files.js';
import type { Irps } from './irps.js';
import {
  DEVICE_OBJECT_FLAGS, DO_BUFFERED_IO, DO_DIRECT_IO, fileObjectLayout, ioctlMethod, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE,
  IRP_MJ_DEVICE_CONTROL, IRP_MJ_READ, type TransferMethod,
} from './layouts.js';

/** A claimed buffer length above this comes with a 64-byte buffer: the caller lies about its size. */
const HUGE_CLAIM = 0x10000;
/** Requests listening clients send again in one go (a driver that always has something would loop forever). */
const MAX_REISSUES = 8;

export class DeviceClient {
  constructor(
    private readonly ke: KernelCore,
    private readonly irps: Irps,
    private readonly files: FileObjects,
    private readonly loader: DriverLoader,
    private readonly processes: Processes,
    private readonly namespace: ObjectNamespace,
  ) {}

  /** The device a client reaches through the driver's symbolic link: its DEVICE_OBJECT, or a reason there is none. */
  private clientDevice(): DeviceEntry | string {
    const dobj = this.loader.driverObject;
    if (this.ke.loaded.state !== 'loaded' || dobj === null) return 'the driver is not loaded';
    const mine = this.ke.loaded.name;
    for (const l of this.namespace.links.values()) {
      if (l.owner !== mine) continue;
      const d = this.namespace.devices.find((x) => x.owner === mine && x.name === l.target);
      if (d !== undefined) return d;
    }
    return 'the driver has no symbolic link to a device';
  }

  /**
   * @internal CreateFile on the driver's symbolic link, by a thread of `process`: a FILE_OBJECT and IRP_MJ_CREATE.
   * Returns the open file, or why there is none (no link, an exclusive device already open, the driver refused it).
   */
  *openDeviceG(process: KProcess, listen?: KFileObject['listen']): Generator<void, KFileObject | string, void> {
    const { ke } = this;
    const mem = ke.mem;
    ke.assertRunning();
    const device = this.clientDevice();
    if (typeof device === 'string') return device;
    // an unload waiting for the last close: new opens fail ([WRK] io/iomgr/parse.c: DOE_UNLOAD_PENDING → STATUS_DELETE_PENDING)
    if (this.loader.unloadPending) return 'the driver\'s unload is pending: STATUS_DELETE_PENDING';
    if (device.exclusive === true && (device.opens ?? 0) > 0) {
      this.irps.refuseOpen('IRP_MJ_CREATE');
      return 'the exclusive device is open already';
    }
    const F = fileObjectLayout(ke.build.pointerSize);
    const va = mem.alloc(F.size, 'File', 'kernel', { type: 'FILE_OBJECT', zeroed: true, driverWritable: true });
    mem.setU16(va, 5); // IO_TYPE_FILE
    mem.setU16(va + 2, F.size);
    mem.setPtr(va + F.DeviceObject, device.va);
    const file: KFileObject = { serial: ++this.files.opened, va, process, device: device.va, state: 'open', pending: 0, ...(listen !== undefined ? { listen } : {}) };
    this.files.files.push(file);
    // the device's reference count holds the driver while the file is open (IopParseDevice / IopDeleteFile)
    device.opens = (device.opens ?? 0) + 1;
    const status = yield* this.irps.requestG(IRP_MJ_CREATE, 'IRP_MJ_CREATE', { thread: this.processes.creatorThread(process), file });
    if (!NT_SUCCESS(status) || status === STATUS_PENDING) {
      // a failed create: the file object is deleted without IRP_MJ_CLEANUP or IRP_MJ_CLOSE ([DOC] IRP_MJ_CREATE)
      file.state = 'closed';
      device.opens = Math.max(0, (device.opens ?? 0) - 1);
      if (file.pending === 0) mem.free(va);
      return `IRP_MJ_CREATE returned ${statusName(status)}`;
    }
    if (listen !== undefined) yield* this.deviceRequestG(file, 'IRP_MJ_DEVICE_CONTROL', listen.ioctl, 0, listen.outputLength, 0);
    return file;
  }

  /**
   * @internal DeviceIoControl (or ReadFile, major IRP_MJ_READ) on an open file, by the first running thread of its
   * process. The caller's buffers are user memory of the lengths it claims, except that a "huge" claim (> 64 KB) comes
   * with a 64-byte buffer: the I/O manager's probe of a buffered request then fails and the driver never sees it; a
   * METHOD_NEITHER request passes the claim on unprobed, as Windows does.
   */
  *deviceRequestG(file: KFileObject, major: 'IRP_MJ_DEVICE_CONTROL' | 'IRP_MJ_READ', ioctl: number, inputLength: number, outputLength: number, fill: number): Generator<void, string | undefined, void> {
    const { ke } = this;
    const mem = ke.mem;
    ke.assertRunning();
    if (file.state !== 'open') return 'the handle is closed';
    const thread = this.processes.creatorThread(file.process);
    if (thread.process !== file.process) return `${file.process.name} has no running thread`;
    const dobj = this.loader.driverObject;
    if (dobj === null || ke.loaded.state !== 'loaded') return 'the driver is not loaded';
    let method: TransferMethod;
    if (major === 'IRP_MJ_READ') {
      const flags = mem.u32(file.device + DEVICE_OBJECT_FLAGS[ke.build.pointerSize]);
      method = (flags & DO_BUFFERED_IO) !== 0 ? 'METHOD_BUFFERED' : (flags & DO_DIRECT_IO) !== 0 ? 'METHOD_OUT_DIRECT' : 'METHOD_NEITHER';
      inputLength = 0;
    } else method = ioctlMethod(ioctl);
    if (method === 'METHOD_IN_DIRECT' || method === 'METHOD_OUT_DIRECT') return `${method} (MDLs) is not modelled`;
    const actual = (n: number): number => (n > HUGE_CLAIM ? 64 : n);
    const userInput = inputLength > 0 ? this.userBuffer(file.process, actual(inputLength), fill) : 0;
    const userOutput = outputLength > 0 ? this.userBuffer(file.process, actual(outputLength), 0) : 0;
    let systemBuffer = 0;
    let systemLength = 0;
    if (method === 'METHOD_BUFFERED') {
      if (inputLength > HUGE_CLAIM || outputLength > HUGE_CLAIM) {
        // NtDeviceIoControlFile / NtReadFile probe the caller's buffers for the claimed lengths: the probe fails
        this.irps.refuseRequest({ major, completions: 0, ...(ioctl !== 0 ? { ioctl: `0x${ioctl.toString(16).toUpperCase()}` } : {}), buffers: { method, inputLength, outputLength } },
          STATUS_ACCESS_VIOLATION, 'the caller\'s buffer is smaller than the length it claims: the I/O manager\'s probe fails (STATUS_ACCESS_VIOLATION)');
        return undefined;
      }
      // one nonpaged system buffer of max(input, output), the input copied in ([DOC] Buffer Descriptions for I/O Control Codes)
      systemLength = Math.max(inputLength, outputLength);
      if (systemLength > 0) {
        systemBuffer = mem.alloc(systemLength, 'IoSb', 'kernel', { type: 'system buffer', driverWritable: true });
        mem.fill(systemBuffer, systemLength, 0);
        if (inputLength > 0) mem.slice(systemBuffer, inputLength).set(mem.slice(userInput, inputLength));
        mem.markWritten(systemBuffer, systemLength);
      }
    }
    const neither = method === 'METHOD_NEITHER';
    yield* this.irps.requestG(major === 'IRP_MJ_READ' ? IRP_MJ_READ : IRP_MJ_DEVICE_CONTROL, major, {
      thread, file, cancellable: true, ioctl: major === 'IRP_MJ_READ' ? 0 : ioctl,
      buffers: {
        method, inputLength, outputLength, systemBuffer, systemLength,
        userInput: neither ? userInput : 0, userOutput: neither || systemBuffer !== 0 ? userOutput : 0,
      },
    });
    // what the completion left to do (a listening client's next request) is the operation's, after it (opSteps):
    // doing it here would nest one ioWorkG per request, and MAX_REISSUES would bound nothing
    return undefined;
  }

  /** A block of the client's memory. CHOICE: the model has one address space, so it lies among kernel addresses. */
  private userBuffer(process: KProcess, length: number, fill: number): number {
    const mem = this.ke.mem;
    const va = mem.alloc(length, 'User', `user:${process.pid}`, { type: 'user buffer', driverWritable: true });
    mem.fill(va, length, fill);
    mem.markWritten(va, length);
    return va;
  }

  /**
   * @internal CloseHandle on the last handle to the file: IRP_MJ_CLEANUP now; IRP_MJ_CLOSE when no IRP on the file
   * is left (each pending IRP holds a reference to the file object), and with it a deferred unload ([DOC]
   * IRP_MJ_CLEANUP, IRP_MJ_CLOSE).
   */
  *closeHandleG(file: KFileObject, thread: KThread = this.processes.creatorThread(file.process)): Generator<void, string | undefined, void> {
    this.ke.assertRunning();
    if (file.state !== 'open') return 'the handle is closed';
    file.state = 'cleaned-up';
    yield* this.irps.requestG(IRP_MJ_CLEANUP, 'IRP_MJ_CLEANUP', { thread, file });
    if (file.pending === 0 && !this.files.ioWork.includes(file)) this.files.ioWork.push(file);
    yield* this.ioWorkG();
    return undefined;
  }

  /** @internal whether completions left the I/O manager something to do (ioWorkG). */
  get ioPending(): boolean {
    return this.files.reissue.length > 0 || this.files.ioWork.length > 0;
  }

  /** @internal what completions left for the I/O manager to do: IRP_MJ_CLOSE of released files, a deferred unload. */
  *ioWorkG(): Generator<void, void, void> {
    const { ke, files } = this;
    for (let n = 0; files.reissue.length > 0 && !ke.halted && n < MAX_REISSUES; n++) {
      // CHOICE: the listening client's next request is sent by its thread, on the CPU that completed the last one
      const file = files.reissue.shift() as KFileObject;
      if (file.state === 'open' && file.listen !== undefined) yield* this.deviceRequestG(file, 'IRP_MJ_DEVICE_CONTROL', file.listen.ioctl, 0, file.listen.outputLength, 0);
    }
    while (files.ioWork.length > 0 && !ke.halted) {
      const file = files.ioWork.shift() as KFileObject;
      if (file.state !== 'cleaned-up' || file.pending > 0) continue;
      file.state = 'closing';
      const device = this.namespace.devices.find((d) => d.va === file.device);
      if (this.loader.driverObject !== null && ke.loaded.state === 'loaded') {
        yield* this.irps.requestG(IRP_MJ_CLOSE, 'IRP_MJ_CLOSE', { thread: this.processes.systemThread(), file });
      }
      file.state = 'closed';
      ke.mem.free(file.va);
      if (device !== undefined) device.opens = Math.max(0, (device.opens ?? 0) - 1);
      // the last reference to the file goes before the I/O manager may unload the driver (IopDeleteFile → IopUnloadDevice)
      if (this.loader.driverObject !== null) ke.cpus.syncRelease(this.loader.driverObject.address);
    }
    yield* this.loader.deferredUnloadG();
  }

  /**
   * @internal the process's handle table is closed as its last thread exits (ObKillProcess): IRP_MJ_CLEANUP for each
   * file it still had open, and IRP_MJ_CLOSE once no IRP holds the file. CHOICE: after the process-exit notification.
   */
  *closeProcessHandles(p: KProcess, t: KThread): Generator<void, void, void> {
    for (const f of [...this.files.files]) {
      if (f.process !== p || f.state !== 'open' || this.ke.halted) continue;
      yield* this.closeHandleG(f, t);
    }
  }
}
