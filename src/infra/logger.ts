import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Paths never written to the log, whatever a caller passes in. */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'seedToken',
  'req.headers.authorization',
  'headers.authorization',
  'credentials',
  'secretAccessKey',
  'sessionToken',
  '*.authorization',
  '*.token',
  '*.secretAccessKey',
  '*.sessionToken',
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
