/** The counted strings the kernel hands to drivers (UNICODE_STRING and its buffer in pool). */
import type { KernelMemory } from '../mm/memory.js';

/** A UNICODE_STRING and its buffer in pool. `unterminated`: MaximumLength covers 4 stale characters, no NUL. */
export function allocUnicodeString(mem: KernelMemory, text: string, owner: string, unterminated = false): number {
  const ps = mem.pointerSize;
  const length = text.length * 2;
  const max = unterminated ? length + 8 : length + 2;
  const buf = mem.alloc(max + 2, 'Str ', owner, { type: 'string buffer', zeroed: true });
  mem.setWide(buf, text);
  if (unterminated) for (let i = 0; i < 4; i++) mem.setU16(buf + length + 2 * i, 0x7e); // stale '~' characters
  const us = mem.alloc(ps === 4 ? 8 : 16, 'Str ', owner, { type: 'UNICODE_STRING', zeroed: true });
  mem.setU16(us, length);
  mem.setU16(us + 2, max);
  mem.setPtr(us + (ps === 4 ? 4 : 8), buf);
  return us;
}

/** Frees a UNICODE_STRING the kernel allocated with its buffer. */
export function freeUnicodeString(mem: KernelMemory, us: number): void {
  mem.free(mem.ptr(us + mem.pointerSize));
  mem.free(us);
}

/** A UNICODE_STRING at `at` whose characters (and a NUL) follow it: SeLocateProcessImageName's and ProcessImageFileName's form. */
export function writeStringWithText(mem: KernelMemory, at: number, text: string): void {
  const ps = mem.pointerSize;
  const header = ps === 4 ? 8 : 16;
  mem.setU16(at, 2 * text.length);
  mem.setU16(at + 2, 2 * text.length + 2);
  mem.setPtr(at + (ps === 4 ? 4 : 8), at + header);
  for (let i = 0; i < text.length; i++) mem.setU16(at + header + 2 * i, text.charCodeAt(i));
  mem.setU16(at + header + 2 * text.length, 0);
}
