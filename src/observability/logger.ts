import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Secret-bearing keys, wherever they appear up to two levels deep. */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'token',
  'seedToken',
  'SEED_TOKEN',
  'credentials',
  'secretAccessKey',
  'sessionToken',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

/**
 * Paths never written to the log, whatever a caller passes in: the keys above at the top level,
 * one level down (`*.token`, `headers.authorization`) and two levels down (`req.headers.authorization`,
 * `config.seed.token`). pino's redaction is by path, so values are never searched.
 */
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
];

/** JSON lines to stdout (or the given stream, which tests read). */
export function createLogger(level: string, destination?: DestinationStream): PinoLogger {
  return pino(
    {
      level,
      base: { service: 'sqs-idempotent-worker' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
