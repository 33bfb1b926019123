/**
 * The one volume minifilters attach to (C:, NTFS, `\Device\HarddiskVolume3`) and the files the generated processes
 * touch: a user's documents (what ransomware encrypts), a temporary file, the driver's own image, an application.
 * Names are case-insensitive and keep the case they were created with. CHOICE: one volume, no directories of its
 * own (a file's parent always exists), no sharing violations, no oplocks.
 */
import { STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, type NTSTATUS } from '../status.js';

export const VOLUME_NAME = '\\Device\\HarddiskVolume3';

/** The files a scenario names (op.file), by label. `%SERVICE%` is the driver's service name. */
export const FILE_PATHS = {
  'document-1': '\\Users\\Alice\\Documents\\budget.xlsx',
  'document-2': '\\Users\\Alice\\Documents\\thesis.docx',
  'document-3': '\\Users\\Alice\\Documents\\photo.jpg',
  'document-4': '\\Users\\Alice\\Documents\\notes.txt',
  temp: '\\Users\\Alice\\AppData\\Local\\Temp\\~setup.tmp',
  driver: '\\Windows\\System32\\drivers\\%SERVICE%.sys',
  program: '\\Program Files\\Contoso\\App.exe',
} as const;
export type FileLabel = keyof typeof FILE_PATHS;
export const FILE_LABELS = Object.keys(FILE_PATHS) as FileLabel[];

/** The suffix a rename adds (as ransomware renames what it encrypted). */
export const RENAME_SUFFIX = '.locked';

export function filePath(label: FileLabel, service: string): string {
  return FILE_PATHS[label].replace('%SERVICE%', service);
}

export interface VolumeFile {
  path: string;
  size: number;
}

export class Volume {
  private readonly files = new Map<string, VolumeFile>();

  /** The volume at boot: every file but the temporary one. */
  constructor(readonly service: string) {
    for (const label of FILE_LABELS) {
      if (label === 'temp') continue;
      const path = filePath(label, service);
      this.files.set(path.toUpperCase(), { path, size: 4096 });
    }
  }

  lookup(path: string): VolumeFile | undefined {
    return this.files.get(path.toUpperCase());
  }

  /** FILE_CREATE (a new file; one already there is a collision) or FILE_OPEN / FILE_OPEN_IF. */
  open(path: string, disposition: 'create' | 'open' | 'open-if'): { status: NTSTATUS; file?: VolumeFile; created?: true } {
    const existing = this.lookup(path);
    if (existing !== undefined) return disposition === 'create' ? { status: STATUS_OBJECT_NAME_COLLISION } : { status: STATUS_SUCCESS, file: existing };
    if (disposition === 'open') return { status: STATUS_OBJECT_NAME_NOT_FOUND };
    const file: VolumeFile = { path, size: 0 };
    this.files.set(path.toUpperCase(), file);
    return { status: STATUS_SUCCESS, file, created: true };
  }

  write(file: VolumeFile, offset: number, length: number): NTSTATUS {
    file.size = Math.max(file.size, offset + length);
    return STATUS_SUCCESS;
  }

  /** FileRenameInformation without ReplaceIfExists: a file of the new name already there is a collision. */
  rename(file: VolumeFile, newPath: string): NTSTATUS {
    if (this.lookup(newPath) !== undefined) return STATUS_OBJECT_NAME_COLLISION;
    this.files.delete(file.path.toUpperCase());
    file.path = newPath;
    this.files.set(newPath.toUpperCase(), file);
    return STATUS_SUCCESS;
  }

  /** FileDispositionInformation: the file goes when its last handle closes (CHOICE: at once, the handle is the last). */
  delete(file: VolumeFile): NTSTATUS {
    this.files.delete(file.path.toUpperCase());
    return STATUS_SUCCESS;
  }
}
