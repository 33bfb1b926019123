import { test, expect } from 'vitest';
test('smoke', () => { expect(1).toBe(1); });
