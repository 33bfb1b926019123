/** The built-in drivers under test, by the names the CLI accepts. */
import { reference } from './reference.js';
import type { DriverModule } from './types.js';
import { wssprocmon } from './wssprocmon.js';

export { reference } from './reference.js';
export { wssprocmon } from './wssprocmon.js';
export * from './types.js';

const BUILTIN: ReadonlyMap<string, DriverModule> = new Map([
  ['seed', wssprocmon],
  ['wssprocmon', wssprocmon],
  ['reference', reference],
]);

export function builtinDrivers(): ReadonlyMap<string, DriverModule> {
  return BUILTIN;
}

export class UnknownDriverError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown driver '${name}' (known: ${known.join(', ')})`);
    this.name = 'UnknownDriverError';
  }
}
