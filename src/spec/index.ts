// Public API of the OCI spec module: generated types plus validation helpers.
export * from './generated/types';
export type { StandaloneValidateFunction } from './generated/validators';
export { SpecValidationError, formatValidationErrors, validateConfig, validateFeatures, validateProcess, validateState } from './validate';
