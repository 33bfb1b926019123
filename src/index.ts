/** psharness library API: use the harness from your own test suites. */
export * from './model/index.js';
export * from './driver/index.js';
export * from './generators/index.js';
export * from './invariants/index.js';
export * from './harness/index.js';
export { checkDriver, assertDriver, checkDriverIsolated, type CheckOptions, type IsolatedCheck } from './api.js';
export { VERSION } from './version.js';
