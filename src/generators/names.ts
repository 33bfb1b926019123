/**
 * Process names and image paths: common names, names at and past the 15-character ImageFileName limit, and the
 * occasional very long path (past what one DbgPrint call can carry).
 */
import fc from 'fast-check';

export const COMMON_PROCESS_NAMES: readonly string[] = ['a.exe', 'notepad.exe', 'svchost.exe', 'cmd.exe', 'explorer.exe', 'lsass.exe', 'chrome.exe'];
export const LONG_PROCESS_NAMES: readonly string[] = ['averyverylongprocessname.exe', 'AcrobatNotificationClient.exe', 'MsMpEngCP.exe', 'fifteen_chars.e', 'fourteen_chr.x', 'sixteen_chars.ex'];
export const DLL_NAMES: readonly string[] = ['kernel32.dll', 'user32.dll', 'advapi32.dll', 'ws2_32.dll', 'inject.dll'];
export const DRIVER_NAMES: readonly string[] = ['other.sys', 'netfilter.sys', 'acpi.sys'];
export const SHORT_DIRECTORIES: readonly string[] = ['\\Device\\HarddiskVolume1\\Windows', '\\Device\\HarddiskVolume1\\Program Files\\App'];
/** A deep directory: the prefix, then the level repeated 20 to 70 times. */
export const DEEP_DIRECTORY = { prefix: '\\Device\\HarddiskVolume1', level: '\\deep_directory' } as const;

export const processFileName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...COMMON_PROCESS_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...LONG_PROCESS_NAMES) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,22}\.exe$/) },
);

/** A directory part: usually short, sometimes deep enough that the whole path passes 512 bytes. */
export const directory: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SHORT_DIRECTORIES) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 70 }).map((n) => DEEP_DIRECTORY.prefix + DEEP_DIRECTORY.level.repeat(n)) },
);

/**
 * Path lengths where code breaks: empty and one character, MAX_PATH and its neighbours (255, 256, 259, 260), exact
 * multiples of the chunks drivers split paths into for DbgPrint (200, 400: 400 and 800, where a split loop's end
 * condition shows), DbgPrint's 512 bytes (511, 512) and UNICODE_STRING's limit (32,767 characters).
 */
export const BOUNDARY_PATH_LENGTHS: readonly number[] = [0, 1, 255, 256, 259, 260, 400, 511, 512, 800, 32767];

/** A path of exactly `length` characters, ending in a file name when there is room for one. */
export function pathOfLength(length: number, file = 'app.exe'): string {
  const head = '\\Device\\HarddiskVolume1\\';
  if (length < head.length + file.length + 1) return 'a'.repeat(length);
  const fill = length - head.length - file.length - 1;
  return `${head}${'d'.repeat(fill)}\\${file}`;
}

export const boundaryPath: fc.Arbitrary<string> = fc.constantFrom(...BOUNDARY_PATH_LENGTHS).map((n) => pathOfLength(n));

/**
 * Path lengths whose log line, after a driver's prefix of 10 to 80 bytes, lands on every byte count around
 * DbgPrint's 512-byte limit (511, 512, 513: the last that fits, the limit, the first that is cut).
 */
export const DBGPRINT_WINDOW_PATH_LENGTHS = { min: 430, max: 500 } as const;
const dbgPrintWindowLength = fc.integer(DBGPRINT_WINDOW_PATH_LENGTHS);

export const processPath: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(directory, processFileName).map(([d, n]) => `${d}\\${n}`) },
  { weight: 1, arbitrary: boundaryPath },
  { weight: 1, arbitrary: dbgPrintWindowLength.map((n) => pathOfLength(n)) },
);

export const dllPath: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(directory, fc.constantFrom(...DLL_NAMES)).map(([d, n]) => `${d}\\${n}`) },
  { weight: 1, arbitrary: fc.constantFrom(...BOUNDARY_PATH_LENGTHS).map((n) => pathOfLength(n, 'x.dll')) },
  { weight: 1, arbitrary: dbgPrintWindowLength.map((n) => pathOfLength(n, 'x.dll')) },
);

export const driverPath: fc.Arbitrary<string> = fc.constantFrom(...DRIVER_NAMES).map((n) => `\\SystemRoot\\System32\\drivers\\${n}`);
