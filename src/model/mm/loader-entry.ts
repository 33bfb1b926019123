/**
 * The loader's entry of a system image: KLDR_DATA_TABLE_ENTRY, what MmLoadSystemImage links into PsLoadedModuleList
 * and what the I/O manager hands the driver as DRIVER_OBJECT.DriverSection ([ROS] ntoskrnl/mm/ARM3/sysldr.c
 * MmLoadSystemImage; layout: [GC] studies/windows/km/ntoskrnl/inc/api/ntldr/kldr_data_table_entry.htm: DllBase to
 * LoadCount lie at the same offsets on every build, where the older LDR_DATA_TABLE_ENTRY had them too). The structure is the kernel's: a driver may read it, and a store into it
 * (the well-known `Flags |= 0x20` that sets LDRP_IMAGE_INTEGRITY_FORCED to pass the /INTEGRITYCHECK test) is
 * `kernel-memory-owned`, naming the field.
 */
import type { KernelMemory } from './memory.js';

export interface LoaderEntryLayout {
  readonly size: number;
  readonly fields: readonly (readonly [name: string, offset: number, size: number])[];
}

const field = (layout: LoaderEntryLayout, name: string): number => {
  const f = layout.fields.find((x) => x[0] === name);
  if (f === undefined) throw new Error(`KLDR_DATA_TABLE_ENTRY has no ${name}`);
  return f[1];
};

/** The documented fields up to LoadCount, by pointer size. The sizes are the x86 and x64 ones of Windows 10. */
export const KLDR_DATA_TABLE_ENTRY: Readonly<Record<4 | 8, LoaderEntryLayout>> = {
  4: {
    size: 0x68,
    fields: [
      ['InLoadOrderLinks', 0x00, 8], ['ExceptionTable', 0x08, 4], ['ExceptionTableSize', 0x0c, 4], ['GpValue', 0x10, 4],
      ['NonPagedDebugInfo', 0x14, 4], ['DllBase', 0x18, 4], ['EntryPoint', 0x1c, 4], ['SizeOfImage', 0x20, 4],
      ['FullDllName', 0x24, 8], ['BaseDllName', 0x2c, 8], ['Flags', 0x34, 4], ['LoadCount', 0x38, 2],
    ],
  },
  8: {
    size: 0xa0,
    fields: [
      ['InLoadOrderLinks', 0x00, 16], ['ExceptionTable', 0x10, 8], ['ExceptionTableSize', 0x18, 4], ['GpValue', 0x20, 8],
      ['NonPagedDebugInfo', 0x28, 8], ['DllBase', 0x30, 8], ['EntryPoint', 0x38, 8], ['SizeOfImage', 0x40, 4],
      ['FullDllName', 0x48, 16], ['BaseDllName', 0x58, 16], ['Flags', 0x68, 4], ['LoadCount', 0x6c, 2],
    ],
  },
};

/** The block type the kernel's memory gives the entry (the verifier names its fields by it). */
export const LOADER_ENTRY_TYPE = 'KLDR_DATA_TABLE_ENTRY';

/**
 * The Flags of a loaded driver's entry: LDRP_ENTRY_PROCESSED (0x4000), the image's entry point called. The real value
 * carries more bits that vary by build and image; which ones is a choice here. LDRP_IMAGE_INTEGRITY_FORCED (0x20) is
 * clear, as for an image linked without /INTEGRITYCHECK.
 */
export const LOADER_ENTRY_FLAGS = 0x4000;

/**
 * Makes the entry of an image loaded at `base` and links it into a PsLoadedModuleList of its own (the kernel's other
 * modules are not modelled: a driver walking the list from its entry finds the list head and comes back).
 */
export function makeLoaderEntry(mem: KernelMemory, image: { readonly base: number; readonly size: number; readonly fullName: string; readonly baseName: string }): number {
  const ps = mem.pointerSize === 8 ? 8 : 4;
  const L = KLDR_DATA_TABLE_ENTRY[ps];
  const head = mem.alloc(2 * ps, 'Ldr ', 'kernel', { type: 'PsLoadedModuleList', zeroed: true });
  const entry = mem.alloc(L.size, 'Ldr ', 'kernel', { type: LOADER_ENTRY_TYPE, zeroed: true });
  mem.setPtr(head, entry);
  mem.setPtr(head + ps, entry);
  mem.setPtr(entry, head);
  mem.setPtr(entry + ps, head);
  mem.setPtr(entry + field(L, 'DllBase'), image.base);
  mem.setPtr(entry + field(L, 'EntryPoint'), image.base + 0x1000);
  mem.setU32(entry + field(L, 'SizeOfImage'), image.size);
  for (const [name, text] of [['FullDllName', image.fullName], ['BaseDllName', image.baseName]] as const) {
    const buffer = mem.alloc(text.length * 2 + 2, 'Ldr ', 'kernel', { type: `${name} buffer`, zeroed: true });
    mem.setWide(buffer, text);
    const at = entry + field(L, name);
    mem.setU16(at, text.length * 2);
    mem.setU16(at + 2, text.length * 2 + 2);
    mem.setPtr(at + ps, buffer);
  }
  mem.setU32(entry + field(L, 'Flags'), LOADER_ENTRY_FLAGS);
  mem.setU16(entry + field(L, 'LoadCount'), 1);
  return entry;
}
