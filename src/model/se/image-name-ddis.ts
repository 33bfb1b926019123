/**
 * SeLocateProcessImageName: the process's image path as a UNICODE_STRING in one paged-pool block the caller frees
 * (ExFreePool); STATUS_INSUFFICIENT_RESOURCES when pool runs out ([DOC] ntifs/nf-ntifs-selocateprocessimagename.md).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { allocatePaged } from '../ex/pool-ddis.js';
import { requireExport } from '../mm/sysldr.js';
import { processAt, writeOut } from '../ob/object-args.js';
import { writeStringWithText } from '../rtl/unicode-string.js';
import { STATUS_INSUFFICIENT_RESOURCES, STATUS_SUCCESS } from '../status.js';

export type SeImageNameDdis = Pick<Ddi, 'SeLocateProcessImageName'>;

export function seImageNameDdis(b: DdiBinding): SeImageNameDdis {
  return {
    SeLocateProcessImageName: (p, out) => {
      requireExport(b.k.ke.build, 'SeLocateProcessImageName');
      const proc = processAt(b, p);
      const name = proc.imagePath ?? '';
      const header = b.ps === 4 ? 8 : 16;
      const block = allocatePaged(b, header + 2 * name.length + 2, 'SeLP');
      if (block === 0) {
        b.k.rec.log('SeLocateProcessImageName', [b.k.ke.hex(p)], STATUS_INSUFFICIENT_RESOURCES);
        return STATUS_INSUFFICIENT_RESOURCES;
      }
      writeStringWithText(b.mem, block, name);
      b.mem.markWritten(block, header + 2 * name.length + 2);
      writeOut(b, out, block);
      b.k.rec.log('SeLocateProcessImageName', [b.k.ke.hex(p)], STATUS_SUCCESS, b.k.ke.hex(block));
      return STATUS_SUCCESS;
    },
  };
}
