/**
 * The vocabulary drivers and invariants share (so that neither imports the other): the events a driver logs, read
 * back from its output by its parser or log spec; the device and event records it declares; its output as lines.
 */
import type { NotificationKind } from './record.js';

/**
 * A registry or file operation a driver logs (its log spec's kinds beside the notifications): a registry callback's
 * REG_NOTIFY_CLASS, or a minifilter's operation, named for what the caller did to the key, value or file.
 */
export type OperationKind =
  | 'registry-create-key' | 'registry-open-key' | 'registry-set-value' | 'registry-delete-value' | 'registry-query-value'
  | 'registry-delete-key' | 'registry-rename-key'
  | 'file-create' | 'file-read' | 'file-write' | 'file-rename' | 'file-delete';

export const OPERATION_KINDS: readonly OperationKind[] = [
  'registry-create-key', 'registry-open-key', 'registry-set-value', 'registry-delete-value', 'registry-query-value',
  'registry-delete-key', 'registry-rename-key', 'file-create', 'file-read', 'file-write', 'file-rename', 'file-delete',
];

export type LoggedKind = NotificationKind | OperationKind;

export function isOperationKind(kind: LoggedKind): kind is OperationKind {
  return kind.startsWith('registry-') || kind.startsWith('file-');
}

export interface LoggedEvent {
  readonly kind: LoggedKind;
  readonly pid?: number;
  readonly ppid?: number;
  readonly tid?: number;
  /** Process name as logged (undefined when the driver did not log one). */
  readonly name?: string;
  /** Image path as logged; null when the driver logged that there was none. */
  readonly imagePath?: string | null;
  /** Hex strings, normalised to '0x' + upper case. */
  readonly base?: string;
  readonly size?: number;
  readonly address?: string;
  /** process-exit: the threads the driver counted starting in the process (a log spec's `threads` field). */
  readonly threads?: number;
  /** Registry operations: the key (its full path, or as the caller named it) and the value's name. */
  readonly key?: string;
  readonly value?: string;
  /** File operations: the file's name, on the volume (`\Users\…`) or in full (`\Device\HarddiskVolume3\Users\…`). */
  readonly path?: string;
  /** Continuation lines (a log spec's "continue") that carried no characters: a split loop that ran a chunk too far. */
  readonly emptyContinuations?: number;
  /** The line(s) it was read from. */
  readonly line: string;
}

/** What a driver under test says about itself, besides its image: how its output reads, what it monitors, its device. */
export interface DriverDeclarations {
  /** Reads the lines printed during one callback into events (lines it does not recognise are ignored). */
  parse(lines: readonly string[]): LoggedEvent[];
  /** The log spec has registry or file operation kinds: the output of registry and minifilter routines is read too. */
  readonly logsOperations?: boolean;
  /**
   * What the driver is loaded to see: every kernel notification of these kinds while it is loaded must be logged
   * (`events-complete`). Undefined: not declared, not checked.
   */
  readonly monitors?: readonly LoggedKind[];
  /**
   * The lines a DriverEntry prints when it goes on without one kind of notification (a registration that failed
   * and that it chose to live without): that kind is then not expected for that load.
   */
  readonly notMonitoring?: readonly { readonly kind: LoggedKind; readonly pattern: { test(line: string): boolean } }[];
  /** The device a successful DriverEntry leaves for its clients (`device-interface` checks it is there). */
  readonly device?: DeviceDeclaration;
  /** Registry keys the driver guards, and who may write them (`registry-guard-exact`). */
  readonly registryGuards?: readonly RegistryGuard[];
  /** Files (or directories) the driver's minifilter guards, and who may change them (`file-guard-exact`). */
  readonly fileGuards?: readonly FileGuard[];
}

/**
 * A file, or a directory and everything in it, on the volume (a path from its root, `\Windows\…`) that the driver's
 * minifilter protects: writing, renaming or deleting it by any caller but `writers` fails, and nothing else does.
 * `%SERVICE%` stands for the driver's service name; a writer is an image file name, or "System" for kernel-mode callers.
 */
export interface FileGuard {
  readonly path: string;
  readonly writers: readonly string[];
}

/**
 * A registry key (with its subkeys) the driver protects: writes from any caller but `writers` fail, and nothing else
 * does. `%SERVICE%` in the key stands for the driver's service name; a writer is an image file name, or "System" for
 * kernel-mode callers.
 */
export interface RegistryGuard {
  readonly key: string;
  readonly writers: readonly string[];
}

/** A per-pointer-size value: the same for both, or one for x86 and one for x64. */
export type PerPointerSize = number | { readonly x86: number; readonly x64: number };

/** The records a client reads back from the device, one event each (C struct layout per pointer size). */
export interface DeviceEventsDeclaration {
  /** The I/O control code whose output is an array of records (hex). */
  readonly ioctl?: string;
  /** ReadFile's output is an array of records too. */
  readonly read?: boolean;
  readonly size: PerPointerSize;
  readonly fields: readonly { readonly name: 'kind' | 'pid' | 'tid' | 'ppid' | 'dropped'; readonly offset: PerPointerSize; readonly type: 'UCHAR' | 'USHORT' | 'ULONG' | 'ULONG64' | 'ULONG_PTR' }[];
  /** The kind field's values, as decimal strings, and the kernel notification each one reports. */
  readonly kinds: Readonly<Record<string, NotificationKind>>;
  /** The driver leaves out the events of a process while it has the device open (the service's own). */
  readonly excludeClients?: boolean;
}

/** sizeof each event-record field type, by pointer size. */
export const FIELD_SIZE: Readonly<Record<DeviceEventsDeclaration['fields'][number]['type'], (ps: 4 | 8) => number>> = {
  UCHAR: () => 1, USHORT: () => 2, ULONG: () => 4, ULONG64: () => 8, ULONG_PTR: (ps) => ps,
};

export function perSize(v: PerPointerSize, ps: 4 | 8): number {
  return typeof v === 'number' ? v : ps === 4 ? v.x86 : v.x64;
}

export interface DeviceDeclaration {
  readonly name?: string;
  /** The symbolic link clients open, pointing at the device. */
  readonly link?: string;
  /** IoCreateDevice's Exclusive as the design requires it (one client at a time). */
  readonly exclusive?: boolean;
  /** The I/O control codes (hex) a user-mode client sends: with them, scenarios include a client. */
  readonly ioctls?: readonly { readonly name?: string; readonly code: string }[];
  /** The event records a client reads back through the device. */
  readonly events?: DeviceEventsDeclaration;
}

/** Hex digits as the record writes addresses: '0x', upper case, no leading zeros (one '0' for zero). */
export function hexNorm(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 0x30) i++;
  return '0x' + (i === 0 ? digits : digits.slice(i)).toUpperCase();
}

/** Joins the DbgPrint calls of a callback and splits them into lines. */
export function linesOf(prints: readonly { readonly text: string }[]): string[] {
  if (prints.length === 0) return [];
  // the common case, each print one whole line: no joined string to split
  const whole: string[] = [];
  for (const p of prints) {
    const t = p.text;
    const nl = t.indexOf('\n');
    if (nl < 0 || nl !== t.length - 1) break;
    whole.push(t.slice(0, -1));
  }
  if (whole.length === prints.length) return whole;
  let all = prints[0].text;
  for (let i = 1; i < prints.length; i++) all += prints[i].text;
  const lines = all.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
