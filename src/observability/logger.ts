import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/**
 * Names whose values are never written to the log, compared case-insensitively and ignoring
 * `-`, `_` and `.` (so `apiKey`, `API_KEY`, `x-api-key` and `Api.Key` are all `apikey`), at any
 * depth of a logged object or a child logger's bindings. LOG_REDACT adds more names.
 */
export const REDACTED_NAMES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'xapikey',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'credential',
  'credentials',
  'sessiontoken',
  'secretaccesskey',
  'privatekey',
  'clientsecret',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'seedtoken',
  'awssecretaccesskey',
  'awssessiontoken',
  'xamzsecuritytoken',
] as const;

/**
 * Name endings that are redacted too (`dbPassword`, `webhookSecret`, `bearerToken`): a name is
 * redacted when, normalised as above, it ends with one of these. `fencingToken` is the exception:
 * the record's fence, not a secret.
 */
export const REDACTED_ENDINGS = ['password', 'passwd', 'secret', 'token', 'apikey', 'privatekey'] as const;
const NOT_SECRET = new Set(['fencingtoken']);

/** How deep logged objects are walked; deeper objects and arrays are written as `[Object]`/`[Array]`. */
export const MAX_LOG_DEPTH = 8;

export const CENSOR = '[redacted]';

export interface LoggerOptions {
  /** More names to redact (LOG_REDACT), matched like REDACTED_NAMES. */
  readonly redact?: readonly string[];
}

/** JSON lines to stdout (or the given stream, which tests read). */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  options: LoggerOptions = {},
): PinoLogger {
  const redact = redactor(options.redact ?? []);
  const logger = pino(
    {
      level,
      base: { service: 'sqs-idempotent-worker' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redact },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino applies formatters.bindings to the base bindings only, not to a child's: redact those
  // as the child is made. Children inherit this method (a child is Object.create(parent)).
  const child = logger.child;
  logger.child = function (this: PinoLogger, bindings: Record<string, unknown>, childOptions?: object) {
    return child.call(this, redact(bindings), childOptions);
  } as typeof logger.child;
  return logger;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, '');
}

/** True when a value logged under this name is never written. */
export function isSecretName(name: string, extra: ReadonlySet<string> = new Set()): boolean {
  const n = normalise(name);
  if (NOT_SECRET.has(n)) return false;
  if (extra.has(n) || (REDACTED_NAMES as readonly string[]).includes(n)) return true;
  return REDACTED_ENDINGS.some((ending) => n.endsWith(ending));
}

/**
 * The log formatter: returns the object itself when nothing in it is secret (the common case
 * costs one look at each key, and no copy), else a copy with secret values replaced by CENSOR.
 * Only plain objects and arrays are walked, up to MAX_LOG_DEPTH; errors and other instances are
 * left to pino's serializers. Names are looked up once each, then remembered.
 */
export function redactor(
  extra: readonly string[],
): (object: Record<string, unknown>) => Record<string, unknown> {
  const added = new Set(extra.map(normalise).filter((n) => n !== ''));
  const verdicts = new Map<string, boolean>();
  const secret = (name: string): boolean => {
    let verdict = verdicts.get(name);
    if (verdict === undefined) {
      verdict = isSecretName(name, added);
      if (verdicts.size < 10_000) verdicts.set(name, verdict);
    }
    return verdict;
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const array = Array.isArray(value);
    if (!array && !isPlain(value)) return value;
    if (depth >= MAX_LOG_DEPTH) return array ? '[Array]' : '[Object]';
    if (array) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i += 1) {
        const item: unknown = value[i];
        const next = walk(item, depth + 1);
        if (next !== item) (copy ??= [...(value as unknown[])])[i] = next;
      }
      return copy ?? value;
    }
    const object = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const name of Object.keys(object)) {
      const item = object[name];
      const next = secret(name) ? CENSOR : walk(item, depth + 1);
      if (next !== item) (copy ??= { ...object })[name] = next;
    }
    return copy ?? object;
  };
  return (object) => walk(object, 0) as Record<string, unknown>;
}

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
