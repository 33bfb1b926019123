/**
 * What a driver under test provides besides its image: a description and a parser that reads its own output
 * lines back into structured events, so checkers never guess from free text. The events' vocabulary is the model's
 * (model/driver-output.ts): invariants speak it without importing a driver.
 */
import type { DriverImage } from '../model/ddi.js';
import type { DriverDeclarations } from '../model/driver-output.js';
import type { CoverageCollector } from './wasm/coverage.js';

export interface DriverModule extends DriverImage, DriverDeclarations {
  readonly description: string;
  /** False when the driver comes without a parser for its output: only invariants that need no log apply. */
  readonly logsEvents?: boolean;
  /** A C driver loaded for coverage: its edges and their hit counts (filled as it runs). */
  readonly coverage?: CoverageCollector;
  /** A C or C++ driver: the directory its DWARF's file names are relative to (reports join them to it). */
  readonly sourceRoot?: string;
  /** For a TypeScript driver: the URL of its module (V8 coverage is reported for that file). */
  readonly sourceUrl?: string;
}

export {
  FIELD_SIZE, OPERATION_KINDS, hexNorm, isOperationKind, linesOf, perSize, type DeviceDeclaration, type DeviceEventsDeclaration, type DriverDeclarations, type LoggedEvent, type LoggedKind, type OperationKind,
  type FileGuard, type PerPointerSize, type RegistryGuard,
} from '../model/driver-output.js';
