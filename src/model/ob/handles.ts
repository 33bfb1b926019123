/**
 * Kernel handles a driver opens (ObOpenObjectByPointer with OBJ_KERNEL_HANDLE): each holds a reference on its
 * object until ZwClose, so a handle never closed is a reference never released. The DDIs: ob/handle-ddis.ts.
 */
import type { CidObject } from '../ps/objects.js';

export class KernelHandles {
  /** @internal kernel handles the driver opened, by handle value */
  readonly table = new Map<number, CidObject>();
  /** @internal the next kernel handle's index */
  next = 1;
}
