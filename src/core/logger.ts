/** The part of a structured logger (pino's shape) that core code uses. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's: whether a line at this level would be written (absent: assume it would). */
  isLevelEnabled?(level: string): boolean;
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

/**
 * A child logger made on first use: per-message loggers are created for every delivery, but at
 * the default level most of them never write a line, and a pino child serialises its bindings
 * when it is made. A line below the parent's level (pino's isLevelEnabled) makes no child.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  const enabled = parent.isLevelEnabled?.bind(parent) ?? (() => true);
  return lazy(() => parent.child(bindings), enabled);
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

function lazy(make: () => Logger, enabled: (level: Level) => boolean): Logger {
  let made: Logger | undefined;
  const real = () => (made ??= make());
  const write =
    (level: Level) =>
    (obj: object, msg?: string): void => {
      if (!enabled(level)) return;
      if (msg === undefined) real()[level](obj);
      else real()[level](obj, msg);
    };
  return {
    child: (bindings) => lazy(() => real().child(bindings), enabled),
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    isLevelEnabled: enabled,
  };
}
