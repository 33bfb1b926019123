/**
 * Memories of finished runs (KernelMemory.recycle, memory.ts), by the size in WebAssembly pages a boot asks for, each
 * already restored to a new memory's contents (all zero) and shadow (all Unmapped) at that size. A new
 * WebAssembly.Memory costs an mmap of its guard region and, as external memory, drives full garbage collections: it was
 * ~60% of an empty run (issue 11). A few per size are kept. A memory that grew during its run is kept too, larger than
 * asked for: the next run's address space still starts at the size asked for and grows as on a new memory (the same
 * addresses, the same end of the address space, the same exhaustion point), into room the memory already has. Growing a
 * memory touches every new page, and a first touch is a page fault: ~0.7 s for a 256 MB memory here, every run of a
 * driver that fills the pool.
 */
const RECYCLED = new Map<number, Recycled[]>();
/** Memories no WebAssembly code sees (TypeScript drivers' kernels), by the same size; some larger than it. */
const RECYCLED_ELASTIC = new Map<number, Recycled[]>();

/**
 * A memory waiting for its next boot, with the image that last ran in it: a boot for the same image takes it back
 * first, so a driver's WebAssembly instance, bound to the memory it was made with, can serve the next run
 * (wasm/loader.ts KeptInstance) even when runs alternate between images (x86 and x64 builds).
 */
interface Recycled {
  readonly memory: WebAssembly.Memory;
  readonly affinity: object | undefined;
}
const RECYCLED_PER_SIZE = 4;
/** Bytes the pools may hold in all (grown memories are large): one memory of the largest size (memory.ts MAX_PAGES). */
const RECYCLED_BYTES = 2 ** 30;
let recycledBytes = 0;
let recycling = true;

/** A finished run's memory, restored, for the next boot asking for `pages`. */
export function poolMemory(elastic: boolean, pages: number, memory: WebAssembly.Memory, affinity: object | undefined): void {
  const into = elastic ? RECYCLED_ELASTIC : RECYCLED;
  let list = into.get(pages);
  if (list === undefined) into.set(pages, (list = []));
  const bytes = memory.buffer.byteLength;
  if (list.length >= RECYCLED_PER_SIZE || recycledBytes + bytes > RECYCLED_BYTES) return;
  list.push({ memory, affinity });
  recycledBytes += bytes;
}

/** The pooled memory of `pages` that `affinity` last ran in, else the last pooled (removed from the pool). */
export function unpoolMemory(elastic: boolean, pages: number, affinity: object | undefined): WebAssembly.Memory | undefined {
  const list = (elastic ? RECYCLED_ELASTIC : RECYCLED).get(pages);
  if (list === undefined || list.length === 0) return undefined;
  let i = list.length - 1;
  if (affinity !== undefined) for (let k = i; k >= 0; k--) if (list[k].affinity === affinity) { i = k; break; }
  const memory = list.splice(i, 1)[0].memory;
  recycledBytes -= memory.buffer.byteLength;
  return memory;
}

/** Whether finished runs' memories are reused (on by default; off to show a recycled boot equals a new one). */
export function setMemoryRecycling(on: boolean): void {
  recycling = on;
  if (!on) {
    RECYCLED.clear();
    RECYCLED_ELASTIC.clear();
    recycledBytes = 0;
  }
}

/** Whether finished runs' memories go back to the pools. */
export function memoryRecycling(): boolean {
  return recycling;
}
