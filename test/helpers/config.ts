import { ConfigError } from '../../src/core/errors.js';

/** The ConfigError that `run` throws; any other outcome fails the test. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
