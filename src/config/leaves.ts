import { z } from 'zod';

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

/** The metadata every leaf of the config schema carries. */
export interface LeafMeta extends VariableDoc {
  /** The rule in Config's terms (milliseconds for `*Ms`), printed when an override is rejected. */
  readonly fieldRule: string;
  /** Syntax only: the variable's string as a value of the field's type (seconds -> ms...). */
  readonly fromEnv: EnvReader;
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
}

export interface LeafDoc {
  /** As written in the environment; it goes through `fromEnv` like any other value. */
  readonly default?: string;
  readonly description: string;
  readonly secret?: boolean;
}

/** The Config field set by the environment variable `name`. */
export function env<S extends z.ZodType>(name: string, kind: Kind<S>, doc: LeafDoc): S {
  const { schema, rule, fieldRule, fromEnv } = kind;
  leafRegistry.add(schema, { name, rule, fieldRule, fromEnv, ...doc });
  return schema;
}

/** A field that may stay unset: `undefined` in Config. */
export function maybe<S extends z.ZodType>(kind: Kind<S>): Kind<z.ZodUnion<[S, z.ZodUndefined]>> {
  return { ...kind, schema: kind.schema.or(z.undefined()) };
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

/** A duration: seconds in the environment (decimals allowed), milliseconds in Config. */
export function duration(minSeconds: number, maxSeconds: number, note?: string): Kind<z.ZodNumber> {
  const [min, max] = [toMs(minSeconds), toMs(maxSeconds)];
  return {
    schema: numberIn(min, max),
    rule: `a number of seconds from ${minSeconds} to ${maxSeconds}${noted(note)}`,
    fieldRule: `a number of milliseconds from ${min} to ${max}${noted(note)}`,
    fromEnv: reader(
      z
        .string()
        .regex(/^\d+(\.\d+)?$/, 'not a number of seconds')
        .transform((seconds) => toMs(Number(seconds))),
    ),
  };
}

/** A string of at least `minLength` characters. */
export function text(rule: string, minLength = 1): Kind<z.ZodString> {
  const problem = minLength === 1 ? 'empty' : `shorter than ${minLength} characters`;
  return { schema: z.string().min(minLength, problem), rule, fieldRule: rule, fromEnv: verbatim };
}

/** A string matching `pattern`; `problem` says what a mismatch is not. */
export function pattern(regex: RegExp, problem: string, rule: string): Kind<z.ZodString> {
  return { schema: z.string().regex(regex, problem), rule, fieldRule: rule, fromEnv: verbatim };
}

export function httpUrl(): Kind<z.ZodURL> {
  const rule = 'an http(s) URL';
  const schema = z.url({ protocol: /^https?$/, error: 'not an http(s) URL' });
  return { schema, rule, fieldRule: rule, fromEnv: verbatim };
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
