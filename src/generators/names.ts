/**
 * Process names and image paths: common names, names at and past the 15-character ImageFileName limit, and the
 * occasional very long path (past what one DbgPrint call can carry).
 */
import fc from 'fast-check';

const COMMON = ['a.exe', 'notepad.exe', 'svchost.exe', 'cmd.exe', 'explorer.exe', 'lsass.exe', 'chrome.exe'];
const LONG = ['averyverylongprocessname.exe', 'AcrobatNotificationClient.exe', 'MsMpEngCP.exe', 'fifteen_chars.e', 'fourteen_chr.x'];
const DLLS = ['kernel32.dll', 'user32.dll', 'advapi32.dll', 'ws2_32.dll', 'inject.dll'];
const DRIVERS = ['other.sys', 'netfilter.sys', 'acpi.sys'];

export const processFileName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...COMMON) },
  { weight: 2, arbitrary: fc.constantFrom(...LONG) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,22}\.exe$/) },
);

/** A directory part: usually short, sometimes deep enough that the whole path passes 512 bytes. */
export const directory: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('\\Device\\HarddiskVolume1\\Windows', '\\Device\\HarddiskVolume1\\Program Files\\App') },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 70 }).map((n) => '\\Device\\HarddiskVolume1' + '\\deep_directory'.repeat(n)) },
);

export const processPath: fc.Arbitrary<string> = fc.tuple(directory, processFileName).map(([d, n]) => `${d}\\${n}`);

export const dllPath: fc.Arbitrary<string> = fc.tuple(directory, fc.constantFrom(...DLLS)).map(([d, n]) => `${d}\\${n}`);

export const driverPath: fc.Arbitrary<string> = fc.constantFrom(...DRIVERS).map((n) => `\\SystemRoot\\System32\\drivers\\${n}`);
