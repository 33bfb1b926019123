/**
 * NTSTATUS values used by the simulated kernel (ntstatus.h values).
 * A status is kept as an unsigned 32-bit number; NT_SUCCESS tests the severity bits like the WDK macro.
 */
export type NTSTATUS = number;

export const STATUS_SUCCESS = 0x00000000;
export const STATUS_PENDING = 0x00000103;
export const STATUS_INVALID_CID = 0xc000000b;
export const STATUS_INVALID_PARAMETER = 0xc000000d;
export const STATUS_INVALID_DEVICE_REQUEST = 0xc0000010;
export const STATUS_ACCESS_DENIED = 0xc0000022;
export const STATUS_OBJECT_NAME_NOT_FOUND = 0xc0000034;
export const STATUS_OBJECT_NAME_COLLISION = 0xc0000035;
export const STATUS_PROCEDURE_NOT_FOUND = 0xc000007a;
export const STATUS_INSUFFICIENT_RESOURCES = 0xc000009a;
export const STATUS_DRIVER_ENTRYPOINT_NOT_FOUND = 0xc0000263;
export const STATUS_UNSUCCESSFUL = 0xc0000001;
export const STATUS_NO_MEMORY = 0xc0000017;
export const STATUS_INVALID_PARAMETER_2 = 0xc00000f0;

const NAMES: ReadonlyMap<number, string> = new Map([
  [STATUS_SUCCESS, 'STATUS_SUCCESS'],
  [STATUS_PENDING, 'STATUS_PENDING'],
  [STATUS_INVALID_CID, 'STATUS_INVALID_CID'],
  [STATUS_INVALID_PARAMETER, 'STATUS_INVALID_PARAMETER'],
  [STATUS_INVALID_DEVICE_REQUEST, 'STATUS_INVALID_DEVICE_REQUEST'],
  [STATUS_ACCESS_DENIED, 'STATUS_ACCESS_DENIED'],
  [STATUS_OBJECT_NAME_NOT_FOUND, 'STATUS_OBJECT_NAME_NOT_FOUND'],
  [STATUS_OBJECT_NAME_COLLISION, 'STATUS_OBJECT_NAME_COLLISION'],
  [STATUS_PROCEDURE_NOT_FOUND, 'STATUS_PROCEDURE_NOT_FOUND'],
  [STATUS_INSUFFICIENT_RESOURCES, 'STATUS_INSUFFICIENT_RESOURCES'],
  [STATUS_DRIVER_ENTRYPOINT_NOT_FOUND, 'STATUS_DRIVER_ENTRYPOINT_NOT_FOUND'],
  [STATUS_UNSUCCESSFUL, 'STATUS_UNSUCCESSFUL'],
  [STATUS_NO_MEMORY, 'STATUS_NO_MEMORY'],
  [STATUS_INVALID_PARAMETER_2, 'STATUS_INVALID_PARAMETER_2'],
]);

const BY_NAME: ReadonlyMap<string, number> = new Map([...NAMES].map(([v, n]) => [n, v]));

/** NT_SUCCESS(Status): severity success or informational (the top bit clear). */
export function NT_SUCCESS(status: NTSTATUS): boolean {
  return (status >>> 0) < 0x80000000;
}

export function statusName(status: NTSTATUS): string {
  const s = status >>> 0;
  return NAMES.get(s) ?? `0x${s.toString(16).toUpperCase().padStart(8, '0')}`;
}

export function statusByName(name: string): NTSTATUS | undefined {
  return BY_NAME.get(name);
}

/** The inverse of statusName: a status as records show it (a name, or 0x + 8 hex digits) back to its value. */
export function statusFromRecord(text: string): NTSTATUS | undefined {
  return BY_NAME.get(text) ?? (/^0x[0-9A-F]{8}$/i.test(text) ? Number.parseInt(text, 16) : undefined);
}

export function knownStatusNames(): string[] {
  return [...BY_NAME.keys()];
}
