import { isIP } from 'node:net';
import { z } from 'zod';
import { credentialFreeUrl, hasUserinfo } from './url.js';

/**
 * The kinds of leaf the config schema is made of. A leaf is a zod schema over the field's value
 * in Config's own units (milliseconds for `*Ms`), registered with the environment variable that
 * sets it, its documentation, and `fromEnv`: the parser that turns the variable's string into a
 * value of that type. Ranges are checked once, by the leaf, whichever way the value came in.
 */

/** What the README and error messages say about one environment variable. */
export interface VariableDoc {
  /** The environment variable. */
  readonly name: string;
  /** The default as it would be written in the environment; absent means "unset". */
  readonly default?: string;
  readonly description: string;
  /** The rule in the environment's terms (seconds, "true"...), printed when a value is rejected. */
  readonly rule: string;
  /** Never printed in logs or error messages. */
  readonly secret?: boolean;
}

/** How a rejected value is shown in the error (default: as JSON); a URL is shown without credentials. */
export type Shown = (raw: string) => string;

/** The metadata every leaf of the config schema carries. */
export interface LeafMeta extends VariableDoc {
  /** The rule in Config's terms (milliseconds for `*Ms`), printed when an override is rejected. */
  readonly fieldRule: string;
  /** Syntax only: the variable's string as a value of the field's type (seconds -> ms...). */
  readonly fromEnv: EnvReader;
  /** Absent or undefined: shown as JSON. */
  readonly shown?: Shown | undefined;
}

/** Reads an environment string, or says in a few words what is wrong with it. */
export type EnvReader = (raw: string) => { readonly value: unknown } | { readonly problem: string };

/** An EnvReader from a zod schema over strings. */
export function reader(schema: z.ZodType<unknown, string>): EnvReader {
  return (raw) => {
    const result = schema.safeParse(raw);
    return result.success
      ? { value: result.data }
      : { problem: result.error.issues[0]?.message ?? 'invalid' };
  };
}

/** Holds the metadata of every leaf; a field of the config schema without an entry is a bug. */
export const leafRegistry = z.registry<LeafMeta>();

/** A kind of leaf before it is bound to a variable: its schema, rules and environment parser. */
export interface Kind<S extends z.ZodType> {
  readonly schema: S;
  readonly rule: string;
  readonly fieldRule: string;
  readonly fromEnv: EnvReader;
  readonly shown?: Shown;
}

export interface LeafDoc {
  /** As written in the environment; it goes through `fromEnv` like any other value. */
  readonly default?: string;
  readonly description: string;
  readonly secret?: boolean;
}

/** The Config field set by the environment variable `name`. */
export function env<S extends z.ZodType>(name: string, kind: Kind<S>, doc: LeafDoc): S {
  const { schema, rule, fieldRule, fromEnv, shown } = kind;
  leafRegistry.add(schema, { name, rule, fieldRule, fromEnv, shown, ...doc });
  return schema;
}

/** A field that may stay unset: `undefined` in Config. */
export function maybe<S extends z.ZodType>(kind: Kind<S>): Kind<z.ZodUnion<[S, z.ZodUndefined]>> {
  return { ...kind, schema: kind.schema.or(z.undefined()) };
}

/**
 * Marks a leaf's own refinement, so its issue (code `custom`, like a cross-field rule's) is
 * reported with the variable's rule: see `isLeafIssue`.
 */
const LEAF = { leaf: true } as const;

/** Whether a `custom` issue came from a leaf's refinement rather than a cross-field rule. */
export function isLeafIssue(issue: { readonly code: string; readonly params?: unknown }): boolean {
  return issue.code === 'custom' && (issue.params as { leaf?: unknown } | undefined)?.leaf === true;
}

/** Strings are taken as written; the leaf's schema checks them. */
const verbatim: EnvReader = (raw) => ({ value: raw });

const noted = (note: string | undefined): string => (note ? ` (${note})` : '');

function numberIn(min: number, max: number): z.ZodNumber {
  return z.number({ error: 'not a number' }).min(min, 'too small').max(max, 'too large');
}

/** An integer, written as one in the environment; `unit` and `note` only shape the rule. */
export function int(
  min: number,
  max: number,
  wording: { readonly unit?: string; readonly note?: string } = {},
): Kind<z.ZodNumber> {
  const unit = wording.unit ? ` number of ${wording.unit}` : '';
  const rule = `an integer${unit} from ${min} to ${max}${noted(wording.note)}`;
  return {
    schema: numberIn(min, max).int({ error: 'not an integer' }),
    rule,
    fieldRule: rule,
    fromEnv: reader(
      z
        .string()
        .regex(/^-?\d+$/, 'not an integer')
        .transform(Number),
    ),
  };
}

const toMs = (seconds: number): number => Math.round(seconds * 1000);

/** The shortest non-zero duration: below it a value would round to 0 ms, which means "none" or "off". */
const MIN_NONZERO_SECONDS = 0.001;
/** Float noise in `seconds * 1000` (0.29 * 1000 = 289.99999999999994) is not "below the minimum". */
const EPSILON_MS = 1e-6;

/**
 * A duration: seconds in the environment (decimals allowed), milliseconds in Config, from
 * `minSeconds` to `maxSeconds`. The minimum is checked before rounding, so a value can never
 * round down to one the rule does not allow. `duration(0, max)` is `durationOrZero('', 0.001, max)`:
 * 0 stays allowed, but a non-zero value must be at least 1 ms (else it would round to 0).
 */
export function duration(minSeconds: number, maxSeconds: number, note?: string): Kind<z.ZodNumber> {
  if (minSeconds <= 0) return durationOrZero('', MIN_NONZERO_SECONDS, maxSeconds, note);
  return durationKind({ minSeconds, maxSeconds, zero: undefined, note });
}

/**
 * A duration where 0 means something of its own (`zero`: "off", "no limit"): 0, or from
 * `minSeconds` to `maxSeconds`. A non-zero value below the minimum is rejected, never taken as 0.
 */
export function durationOrZero(
  zero: string,
  minSeconds: number,
  maxSeconds: number,
  note?: string,
): Kind<z.ZodNumber> {
  return durationKind({ minSeconds: Math.max(minSeconds, MIN_NONZERO_SECONDS), maxSeconds, zero, note });
}

function durationKind(spec: {
  readonly minSeconds: number;
  readonly maxSeconds: number;
  /** undefined: 0 is not allowed; a string (maybe empty): 0 is, and means that. */
  readonly zero: string | undefined;
  readonly note: string | undefined;
}): Kind<z.ZodNumber> {
  const { minSeconds, maxSeconds, zero, note } = spec;
  const [min, max] = [toMs(minSeconds), toMs(maxSeconds)];
  const zeroOk = zero !== undefined;
  const orZero = zeroOk ? `0${zero ? ` (${zero})` : ''}, or ` : '';
  const tooSmall = zeroOk ? `non-zero and below ${minSeconds}` : 'too small';
  const allowed = (ms: number): boolean => (zeroOk && ms === 0) || ms >= min - EPSILON_MS;
  return {
    schema: z
      .number({ error: 'not a number' })
      .max(max, 'too large')
      .refine(allowed, { error: zeroOk ? `non-zero and below ${min}` : 'too small', params: LEAF }),
    rule: `${orZero}a number of seconds from ${minSeconds} to ${maxSeconds}${noted(note)}`,
    fieldRule: `${orZero}a number of milliseconds from ${min} to ${max}${noted(note)}`,
    fromEnv: (raw) => {
      if (!/^\d+(\.\d+)?$/.test(raw)) return { problem: 'not a number of seconds' };
      const exactMs = Number(raw) * 1000;
      return allowed(exactMs) ? { value: toMs(Number(raw)) } : { problem: tooSmall };
    },
  };
}

/** A string of at least `minLength` characters, not only whitespace (a name or path made of spaces is a typo). */
export function text(rule: string, minLength = 1): Kind<z.ZodString> {
  const problem = minLength === 1 ? 'empty' : `shorter than ${minLength} characters`;
  const schema = z
    .string()
    .min(minLength, problem)
    .refine((value) => value.trim() !== '', { error: 'only whitespace', params: LEAF });
  return { schema, rule, fieldRule: rule, fromEnv: verbatim };
}

/** A string matching `pattern`; `problem` says what a mismatch is not. */
export function pattern(regex: RegExp, problem: string, rule: string): Kind<z.ZodString> {
  return { schema: z.string().regex(regex, problem), rule, fieldRule: rule, fromEnv: verbatim };
}

/**
 * An http(s) URL without a user name or password: credentials never travel in URLs (they end up
 * in log lines and error messages, and Node's fetch refuses such URLs). `instead` says where they
 * go. A rejected value is shown without userinfo or query values.
 */
export function httpUrl(instead = 'credentials come from a header setting, never the URL'): Kind<z.ZodURL> {
  const rule = `an http(s) URL without user name or password (${instead})`;
  const schema = z
    .url({ protocol: /^https?$/, error: 'not an http(s) URL' })
    .refine((url) => !hasUserinfo(url), { error: 'it carries a user name or password', params: LEAF });
  return {
    schema,
    rule,
    fieldRule: rule,
    fromEnv: verbatim,
    shown: showUrl,
  };
}

/** A rejected URL as shown: without credentials; text that is no URL as given unless it has an `@`. */
function showUrl(raw: string): string {
  if (URL.canParse(raw)) return JSON.stringify(credentialFreeUrl(raw));
  return raw.includes('@') ? '<not a URL, not shown: it contains @>' : JSON.stringify(raw);
}

/**
 * A comma-separated list of host names or addresses (no port, no scheme), read lower-cased:
 * names a client may use in its `Host` header. Spaces around the commas are allowed.
 */
export function hostList(rule: string): Kind<z.ZodArray<z.ZodString>> {
  const name = z
    .string()
    .refine(isHostOrAddress, { error: 'not a host name or an IP address', params: LEAF });
  return {
    schema: z.array(name).min(1, 'empty'),
    rule,
    fieldRule: rule,
    fromEnv: (raw) => {
      const names = raw.split(',').map((item) => item.trim().toLowerCase());
      const bad = names.find((item) => !isHostOrAddress(item));
      if (bad !== undefined) return { problem: bad === '' ? 'an empty name' : 'not a list of host names' };
      return { value: names };
    },
  };
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const rule = `one of ${values.join(', ')}`;
  return { schema: z.enum(values, { error: 'not a known value' }), rule, fieldRule: rule, fromEnv: verbatim };
}

/** A boolean, written `true` or `false` in the environment. */
export function flag(): Kind<z.ZodBoolean> {
  const rule = 'true or false';
  return {
    schema: z.boolean({ error: 'not true or false' }),
    rule,
    fieldRule: rule,
    fromEnv: reader(z.enum(['true', 'false'], { error: 'not true or false' }).transform((v) => v === 'true')),
  };
}

/**
 * A bearer token: at least `minLength` characters of printable ASCII. Whitespace, control and
 * non-ASCII characters are refused: a token with them can never match what a client sends in an
 * Authorization header (trimmed, split at spaces, read as Latin-1).
 */
export function bearerToken(minLength: number): Kind<z.ZodString> {
  const rule = `at least ${minLength} characters: printable ASCII, no whitespace or control characters`;
  const schema = z
    .string()
    .min(minLength, `shorter than ${minLength} characters`)
    .regex(/^[\x21-\x7e]*$/, 'contains whitespace, control or non-ASCII characters');
  return { schema, rule, fieldRule: rule, fromEnv: verbatim };
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A DNS host name (RFC 1123 labels, an optional final dot) or an IPv4/IPv6 address. */
export function isHostOrAddress(value: string): boolean {
  if (isIP(value) !== 0) return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** Where a server listens: a host name or an address, syntax only (it is resolved at start). */
export function host(): Kind<z.ZodString> {
  const rule = 'a host name or an IPv4 or IPv6 address (no brackets, no port)';
  const schema = z
    .string()
    .refine(isHostOrAddress, { error: 'not a host name or an IP address', params: LEAF });
  return { schema, rule, fieldRule: rule, fromEnv: verbatim };
}

/** A nested group of settings: unknown keys are an error, and the parsed object is frozen. */
export const group = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).readonly();

/** A TCP port; `note` says what 0 means. */
export const port = (note: string): Kind<z.ZodNumber> => int(0, 65535, { note });
