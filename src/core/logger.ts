/** The part of a structured logger (pino's shape) that core code uses. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (for tests and library users that bring none). */
export const silentLogger: Logger = {
  child: () => silentLogger,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
