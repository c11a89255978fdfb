/**
 * One error hierarchy for the whole worker. Every error has a stable `code` to match on (or use
 * `instanceof`), and keeps what caused it in `cause`. Expected outcomes (duplicate, retry later,
 * dead-letter) are return values, not errors: these classes are for faults and for rejecting input.
 */
export class WorkerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value broke its rule. `variable` names the environment variable. */
export class ConfigError extends WorkerError {
  readonly variable: string;

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
    this.variable = variable;
  }
}

/**
 * Thrown by a handler to say that retrying cannot help (bad data, a rejected request): the message
 * is dead-lettered at once instead of being retried.
 */
export class PermanentError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PERMANENT', message, options);
  }
}

/**
 * Thrown by a handler to say "try again later", optionally no sooner than `retryAfterMs` (an HTTP
 * Retry-After, say). Any other error is retried too, after the configured backoff.
 */
export class RetryableError extends WorkerError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super('ERR_RETRYABLE', message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The handler did not finish within HANDLER_TIMEOUT; its AbortSignal has fired. */
export class HandlerTimeoutError extends WorkerError {
  constructor(timeoutMs: number) {
    super('ERR_HANDLER_TIMEOUT', `handler did not finish within ${timeoutMs} ms`);
  }
}

/** The idempotency store could not be reached or answered with a fault. The message is left alone. */
export class StoreUnavailableError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}

/** Embedded mode was reached in an install without the emulators (a production install). */
export class EmbeddedUnavailableError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_EMBEDDED_UNAVAILABLE', message, options);
  }
}

/** Short, log-safe description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
