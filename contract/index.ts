/**
 * The pool manager's contract, shared by the functions, the bridge, the scripts and the
 * tests: the Gearman function, the actions and their Lambda functions, the message
 * fields, the result and envelope shapes, the time limits, the error root and the logger.
 * docs/contract.md says it in prose; contract/examples/ holds the messages as written.
 * It imports nothing from the rest of the repository (eslint.config.js enforces it).
 */
export * from './actions';
export * from './deadlines';
export * from './envelope';
export * from './errors';
export * from './gearman';
export * from './logger';
export * from './messages';
export * from './naming';
export * from './result';
