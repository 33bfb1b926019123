export * from './check.js';
export * from './fuzz.js';
export * from './heap.js';
export * from './junit.js';
export * from './replay.js';
export * from './report.js';
export * from './shrink.js';
