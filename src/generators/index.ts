export * from './names.js';
export * from './ops.js';
export * from './scenario.js';
