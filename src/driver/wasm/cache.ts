/**
 * The build cache of the C-driver pipeline (compiled and instrumented modules), keyed by the sha256 of their
 * inputs. Entries are verified on read (a sidecar holds the sha256 of the bytes: a truncated or swapped entry is
 * rebuilt, never run); a cache that cannot be written costs time, with a warning, never correctness.
 *
 * Where: $PSHARNESS_CACHE, else node_modules/.cache/psharness under the psharness package root (not the current
 * directory), else $XDG_CACHE_HOME/psharness (~/.cache/psharness).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

export function cacheDir(): string {
  if (process.env.PSHARNESS_CACHE !== undefined && process.env.PSHARNESS_CACHE !== '') return resolve(process.env.PSHARNESS_CACHE);
  const modules = join(packageRoot(), 'node_modules');
  try {
    if (lstatSync(modules).isDirectory()) return join(modules, '.cache', 'psharness');
  } catch {
    // installed without a node_modules of its own (a global install): the per-user cache
  }
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'psharness');
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Whether an entry for `name` is present (not checked: a hint, e.g. that no build will be needed). */
export function cacheHas(name: string): boolean {
  const dir = cacheDir();
  return existsSync(join(dir, name)) && existsSync(join(dir, `${name}.sha256`));
}

/** The cached bytes for `name`, if present and intact. */
export function cacheGet(name: string): Uint8Array | undefined {
  const dir = cacheDir();
  try {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    const want = readFileSync(join(dir, `${name}.sha256`), 'utf8').trim();
    if (sha(bytes) === want) return bytes;
  } catch {
    return undefined; // absent or unreadable
  }
  // damaged (truncated, or another module put in its place): drop it, the caller rebuilds
  quietRm(join(dir, name));
  quietRm(join(dir, `${name}.sha256`));
  return undefined;
}

function quietRm(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // not ours to remove (read-only cache, or a path through a file)
  }
}

/** Stores `bytes` as `name`; returns a warning when the cache cannot be written (the build is used all the same). */
export function cachePut(name: string, bytes: Uint8Array): string | undefined {
  const dir = cacheDir();
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, bytes);
    writeFileSync(`${tmp}.sha256`, sha(bytes) + '\n');
    renameSync(`${tmp}.sha256`, join(dir, `${name}.sha256`));
    renameSync(tmp, join(dir, name));
    return undefined;
  } catch (e) {
    quietRm(tmp);
    quietRm(`${tmp}.sha256`);
    return `psharness: warning: the build cache ${dir} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): building without it`;
  }
}
