/** The built-in drivers under test, by the names the CLI accepts. */
import { suggestion } from '../model/did-you-mean.js';
import { MUTANTS } from './mutants.js';
import { reference } from './reference.js';
import type { DriverModule } from './types.js';
import { wssprocmon } from './wssprocmon.js';
import { isSourceProject } from './wasm/project.js';

export { reference, makeMonitor, type MutationPoint } from './reference.js';
export { MUTANTS, getMutant, type Mutant } from './mutants.js';
export { wssprocmon } from './wssprocmon.js';
export * from './types.js';

const BUILTIN: ReadonlyMap<string, DriverModule> = new Map<string, DriverModule>([
  ['seed', wssprocmon],
  ['wssprocmon', wssprocmon],
  ['reference', reference],
  ...MUTANTS.map((m): [string, DriverModule] => [`mutant:${m.id}`, m.driver]),
]);

export function builtinDrivers(): ReadonlyMap<string, DriverModule> {
  return BUILTIN;
}

export class UnknownDriverError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown driver '${name}'${suggestion(name, known)} (known: ${known.join(', ')})`);
    this.name = 'UnknownDriverError';
  }
}
export { loadWasmDriver, WasmDriverError, WASM_DDI_NAMES } from './wasm/loader.js';
export { compileDriver, CompileError, projectSha256 } from './wasm/compile.js';
export { resolveProject, isSourceProject, isSingleSource, DRIVER_FILE, DriverProjectError, type DriverProject, type SourceBuild } from './wasm/project.js';
export { loadLogSpec, parserFromSpec, validateLogSpec, LogSpecError } from './log-spec.js';
export { VERIFIER_MUTANTS, loadVerifierMutant, type VerifierMutant } from './verifier-mutants.js';

/** Whether `name` is a driver on disk (a C or C++ project in any of its forms, or a .wasm module) rather than a built-in. */
export function isDriverPath(name: string): boolean {
  if (BUILTIN.has(name)) return false; // a built-in name wins over a directory of that name
  return name.endsWith('.wasm') || isSourceProject(name);
}
