import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig, withOverrides, type Config, type Environment } from '../../src/config/load.js';
import { fieldVariables, variables } from '../../src/config/variables.js';
import { ConfigError } from '../../src/core/errors.js';

/**
 * Property tests of the configuration loader (issue 12): whatever the environment, the profile
 * file or the overrides hold, loadConfig() returns a deeply frozen Config whose values keep their
 * rules, or throws a ConfigError naming a variable (which the CLI turns into exit 2). Never
 * another exception. A fixed seed and a bounded number of runs: the same cases every time.
 */
const SEED = 20261125;
const RUNS = 400;

const KNOWN = variables.map(({ name }) => name);
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf'];
const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-config-property-'));

/** Strings an operator, a template or an attacker might put in a variable. */
const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-0',
    '-1',
    '0.0004',
    '0.0001',
    '1e3',
    '1e309',
    '9'.repeat(400),
    '0x10',
    'NaN',
    'Infinity',
    'true',
    'TRUE',
    'null',
    'undefined',
    '__proto__',
    'http://',
    'http://127.0.0.1:1',
    'https://sqs.us-east-1.amazonaws.com/123456789012/q',
    ' '.repeat(16),
    'a'.repeat(16),
    'a'.repeat(100_000),
    '\u0000',
    '\ud800',
    '\u202e16-char-token-xx',
    '🦄'.repeat(8),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.stringMatching(/^\d{1,25}(\.\d{1,25})?$/),
  fc.double().map(String),
  fc.bigInt().map(String),
);

/** Names: ours, near-misses of ours, prototype keys, foreign and random ones. */
const variableName = fc.oneof(
  fc.constantFrom(...KNOWN),
  fc.constantFrom(...KNOWN).map((name) => name.replace('_', '')),
  fc.constantFrom(...KNOWN).map((name) => name.toLowerCase()),
  fc.constantFrom(...KNOWN).map((name) => `${name}S`),
  fc.constantFrom(...PROTOTYPE_KEYS),
  fc.constantFrom(
    'PATH',
    'HOME',
    'HOSTNAME',
    'AWS_PROFILE',
    'OTEL_LOG_LEVEL',
    'NODE_OPTIONS',
    'npm_config_x',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{0,30}$/),
);

/** An object with exactly these own entries, `__proto__` included (as JSON.parse makes it). */
function withOwnEntries(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  return Object.fromEntries(entries) as Record<string, unknown>;
}

const environment = fc
  .array(fc.tuple(variableName, hostileString), { maxLength: 12 })
  .map((entries) => withOwnEntries(entries) as Environment);

/** A value in Config's terms that `path` names: a number, a string, anything. */
const overrideValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 0.4, 1e21, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Infinity),
  hostileString,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }),
);

const overrides = fc
  .oneof(
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...fieldPaths()),
          fc.constantFrom(...PROTOTYPE_KEYS),
          fc.string({ maxLength: 10 }),
        ),
        overrideValue,
      ),
      { maxLength: 6 },
    ),
  )
  .map((entries) => nest(entries));

function fieldPaths(): string[] {
  return Object.entries(loadConfig({})).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null
      ? Object.keys(value).map((child) => `${key}.${child}`)
      : [key],
  );
}

/** `[['http.port', 1]]` -> `{ http: { port: 1 } }`, keys as own properties. */
function nest(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const root: Record<string, unknown> = withOwnEntries([]);
  for (const [path, value] of entries) {
    const keys = path.split('.');
    let node = root;
    keys.slice(0, -1).forEach((key) => {
      const child = Object.hasOwn(node, key) ? node[key] : undefined;
      const next = typeof child === 'object' && child !== null ? (child as Record<string, unknown>) : {};
      Object.defineProperty(node, key, { value: next, enumerable: true, writable: true, configurable: true });
      node = next;
    });
    const last = keys.at(-1) ?? '';
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

/** Runs `load`: a Config that keeps the rules, or a ConfigError naming a variable. */
function outcome(load: () => Config, named: readonly string[]): 'config' | 'config error' {
  let config: Config;
  try {
    config = load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.code).toBe('ERR_CONFIG');
    expect(error.variable).not.toBe('');
    expect([error.variable, JSON.stringify(error.variable)].some((n) => error.message.includes(n))).toBe(
      true,
    );
    expect([...KNOWN, ...named, 'config']).toContain(error.variable.split('.')[0]);
    return 'config error';
  }
  expectValidConfig(config);
  return 'config';
}

function expectValidConfig(config: Config): void {
  expect(Object.isFrozen(config)).toBe(true);
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'object' && value !== null) expect(Object.isFrozen(value)).toBe(true);
    // A duration is none (0) or at least 1 ms: never a fraction that rounds either way.
    if (key.endsWith('Ms') && typeof value === 'number') expect(value === 0 || value >= 1).toBe(true);
  }
  expect(Number.isSafeInteger(config.http.port)).toBe(true);
  expect(config.http.port).toBeGreaterThanOrEqual(0);
  expect(config.maxInFlight).toBeGreaterThanOrEqual(1);
  if (config.seed.token !== undefined) expect(config.seed.token).toMatch(/^[\x21-\x7e]{16,}$/);
  // The same config passes its own rules again.
  expect(() => withOverrides(config, {})).not.toThrow();
}

/** The variables of duration fields (Config names them `...Ms`): where a fraction could round to 0. */
const DURATIONS = fieldVariables.filter((variable) => variable.field.endsWith('Ms'));

/**
 * Positive numbers as an operator might write them: mostly a few seconds or less, which most
 * durations accept, and tiny fractions of a second, which must be refused or read as 1 ms or more.
 */
const positiveNumber = fc.oneof(
  fc.constantFrom('0.0004', '0.0001', '1e-7', '0.001', '0.0015', '0.01', '1', '2.5', '0x3'),
  fc.stringMatching(/^0\.0{0,6}[1-9]\d{0,3}$/),
  fc.double({ min: 0.001, max: 5, noNaN: true }).map(String),
  fc.integer({ min: 1, max: 5 }).map(String),
);

/**
 * A duration written non-zero is never read as 0 ("off", "no limit"): it is read as at least 1 ms,
 * or refused with a ConfigError that names a variable. Asserts on every environment.
 */
function expectNoValueLost(env: Environment): 'config' | 'config error' {
  const written = DURATIONS.filter((variable) => env[variable.name] !== undefined);
  expect(written.length).toBeGreaterThan(0);
  let config: Config;
  try {
    config = loadConfig(env, { configDir: dir });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(KNOWN).toContain((error as ConfigError).variable);
    return 'config error';
  }
  for (const variable of written) {
    const text = env[variable.name];
    const value = variable.path.reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      config,
    );
    expect({ [variable.name]: text, ms: value }).toEqual({ [variable.name]: text, ms: expect.any(Number) });
    expect({ [variable.name]: text, ms: value }).not.toEqual({ [variable.name]: text, ms: 0 });
    expect(value).toBeGreaterThanOrEqual(1);
  }
  return 'config';
}

function keysOf(value: unknown): string[] {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
}

/** Every dotted path's first part, and every top-level key: what an error may name besides ours. */
function namesIn(tree: object): string[] {
  return Object.keys(tree).flatMap((key) => {
    const value = (tree as Record<string, unknown>)[key];
    const children = typeof value === 'object' && value !== null ? Object.keys(value) : [];
    return [key, ...children.map((child) => `${key}.${child}`)];
  });
}

describe('loadConfig under random and hostile input', () => {
  it('an environment of random, near-miss, prototype and unicode names and values', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(environment, (env) => {
        seen.add(outcome(() => loadConfig(env, { configDir: dir }), Object.keys(env)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The generator reaches both outcomes: the property is not vacuous.
    expect([...seen].sort()).toEqual(['config', 'config error']);
  });

  it('values of our own variables, one to four at a time', () => {
    const seen = new Set<string>();
    const ours = fc
      .array(fc.tuple(fc.constantFrom(...KNOWN), hostileString), { minLength: 1, maxLength: 4 })
      .map((entries) => withOwnEntries(entries) as Environment);
    fc.assert(
      fc.property(ours, (env) => {
        seen.add(outcome(() => loadConfig(env, { configDir: dir }), Object.keys(env)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect([...seen].sort()).toEqual(['config', 'config error']);
  });

  it('positive durations, one to four at a time: never read as 0', () => {
    const seen = new Set<string>();
    const durations = fc
      .array(fc.tuple(fc.constantFrom(...DURATIONS.map(({ name }) => name)), positiveNumber), {
        minLength: 1,
        maxLength: 4,
      })
      .map((entries) => withOwnEntries(entries) as Environment);
    fc.assert(
      fc.property(durations, (env) => {
        seen.add(expectNoValueLost(env));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Both outcomes are reached: the read values are checked in many cases, not a few.
    expect([...seen].sort()).toEqual(['config', 'config error']);
  });

  it('a profile file of random keys and JSON values, or not an object at all', () => {
    const profileFile = fc.oneof(
      fc
        .array(fc.tuple(variableName, fc.oneof(hostileString, overrideValue)), { maxLength: 8 })
        .map((entries) => {
          const object = withOwnEntries(entries);
          return { text: JSON.stringify(object), keys: Object.keys(object) };
        }),
      fc
        .jsonValue({ maxDepth: 3 })
        .map((value) => ({ text: JSON.stringify(value) ?? '', keys: keysOf(value) })),
      fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text, keys: [] })),
    );
    const seen = new Set<string>();
    fc.assert(
      fc.property(profileFile, environment, ({ text, keys }, env) => {
        writeFileSync(join(dir, 'random.json'), text);
        const load = () => loadConfig({ ...env, CONFIG_PROFILE: 'random' }, { configDir: dir });
        seen.add(outcome(load, [...keys, ...Object.keys(env)]));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect([...seen].sort()).toEqual(['config', 'config error']);
  });

  it('overrides set in code: random paths, prototype keys and values of any type', () => {
    const base = loadConfig({});
    const seen = new Set<string>();
    fc.assert(
      fc.property(overrides, (patch) => {
        const names = namesIn(patch);
        seen.add(outcome(() => withOverrides(base, patch as Partial<Config>), names));
        seen.add(outcome(() => loadConfig({}, { overrides: patch as Partial<Config> }), names));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect([...seen].sort()).toEqual(['config', 'config error']);
  });
});
