/**
 * A full disk while a report or JUnit file is written: the write fails part-way, the error reaches the caller, and
 * no temp file is left beside the files the user already has (issue 29: the write sat outside the try).
 */
import { mkdtempSync, readdirSync, writeFileSync as realWrite } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';

const full = { on: false };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync = ((path: Parameters<typeof fs.writeFileSync>[0], data: string | Uint8Array, ...rest: unknown[]) => {
    if (!full.on) return (fs.writeFileSync as (...a: unknown[]) => void)(path, data, ...rest);
    // the first bytes reach the disk, then ENOSPC, as a full file system does it
    fs.writeFileSync(path, typeof data === 'string' ? data.slice(0, 16) : data.subarray(0, 16));
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
  }) as typeof fs.writeFileSync;
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

// the suite runs its files in shared workers (vitest.config.ts: isolate off): a file before this one may have
// loaded these modules with the real node:fs; load them anew, through the mock
vi.resetModules();
const { writeNew } = await import('../../src/harness/report.js');
const { writeAtomic } = await import('../../src/harness/junit.js');

afterEach(() => {
  full.on = false;
});
// and the files after this one in the same worker load them anew with the real node:fs
afterAll(() => {
  vi.doUnmock('node:fs');
  vi.resetModules();
});

describe('a full disk leaves no temp file behind', () => {
  test('writeNew (reports): ENOSPC reaches the caller; the directory holds what it held', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-full-'));
    realWrite(join(dir, 'kept.json'), '{}');
    full.on = true;
    expect(() => writeNew(dir, 'r.json', 'x'.repeat(1000))).toThrow(/ENOSPC/);
    expect(readdirSync(dir)).toEqual(['kept.json']);
    full.on = false;
    expect(writeNew(dir, 'r.json', 'y')).toBe(join(dir, 'r.json'));
  });
  test('writeAtomic (JUnit): ENOSPC reaches the caller; the file it would replace is unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-full-'));
    realWrite(join(dir, 'junit.xml'), '<old/>');
    full.on = true;
    expect(() => writeAtomic(join(dir, 'junit.xml'), '<new/>'.repeat(100))).toThrow(/ENOSPC/);
    expect(readdirSync(dir)).toEqual(['junit.xml']);
  });
});
