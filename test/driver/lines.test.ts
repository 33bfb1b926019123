/** linesOf: a callback's DbgPrint calls joined and split into lines, whichever way the driver cut them. */
import { describe, expect, test } from 'vitest';
import { linesOf } from '../../src/driver/types.js';

const prints = (...texts: string[]): { text: string }[] => texts.map((text) => ({ text }));

describe('linesOf', () => {
  test('one whole line per call', () => {
    expect(linesOf(prints('a\n', 'b\n', '\n'))).toEqual(['a', 'b', '']);
  });

  test('a line built by several calls, several lines in one call, and a last line without its newline', () => {
    expect(linesOf(prints('Process ', 'notepad.exe\n', 'x\ny\n', 'tail'))).toEqual(['Process notepad.exe', 'x', 'y', 'tail']);
    expect(linesOf(prints('a\n', 'b'))).toEqual(['a', 'b']);
    expect(linesOf(prints('a\nb\n'))).toEqual(['a', 'b']);
  });

  test('nothing printed, or empty calls', () => {
    expect(linesOf([])).toEqual([]);
    expect(linesOf(prints(''))).toEqual([]);
    expect(linesOf(prints('', 'a\n'))).toEqual(['a']);
  });
});
