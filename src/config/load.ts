import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { isLeafIssue, type LeafMeta } from './leaves.js';
import { meantVariable } from './misspelt.js';
import { configSchema, profileVariable, type Config } from './schema.js';
import { fieldVariables, variableOfField } from './variables.js';

export type { Config } from './schema.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface LoadOptions {
  /**
   * Folder holding profile files. Default: `config/` under the working directory when it holds
   * the profile, else the `config/` this package ships (so an installed package finds its own).
   */
  readonly configDir?: string | undefined;
  /** Settings in Config's terms that win over the environment; validated with everything else. */
  readonly overrides?: DeepPartial<Config> | undefined;
}

/**
 * Where each field's value came from: fields in this map were read from the environment (or a
 * profile, or the default), with the string as written (undefined: unset) and, when a profile
 * set it, that profile's file. Other fields came from the caller in Config's terms, and errors
 * name them by field.
 */
interface EnvSource {
  readonly text: string | undefined;
  readonly profile?: string | undefined;
}
type EnvText = ReadonlyMap<string, EnvSource>;

/** The names of every variable we read. */
const KNOWN: readonly string[] = [profileVariable.name, ...fieldVariables.map(({ name }) => name)];

/**
 * The only reader of process.env. Reads every variable (profile first, the environment wins),
 * applies defaults, merges `options.overrides`, then validates the result against the schema,
 * cross-field rules included, and returns a frozen Config. Throws ConfigError naming the first
 * variable that is wrong.
 */
export function loadConfig(env: Environment = process.env, options: LoadOptions = {}): Config {
  rejectMisspelt(env);
  const profile = readProfile(env, options.configDir);
  const fromEnv = definedOnly(env);
  const overrides = options.overrides ?? {};
  const envText = new Map<string, EnvSource>();
  const input: Record<string, unknown> = {};
  for (const variable of fieldVariables) {
    if (valueAt(overrides, variable.path) !== undefined) continue;
    const set = fromEnv.get(variable.name);
    const profiled = set === undefined ? profile?.values.get(variable.name) : undefined;
    const text = set ?? profiled ?? variable.default;
    const file = profiled === undefined ? undefined : profile?.file;
    setAt(input, variable.path, text === undefined ? undefined : readVariable(variable, text, file));
    envText.set(variable.field, { text, profile: file });
  }
  return validate(merge(input, overrides), envText);
}

/** A variable that is not ours but nearly is (MAX_INFLIGHT) is a typo: see misspelt.ts. */
function rejectMisspelt(env: Environment): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const meant = meantVariable(name, value, KNOWN);
    if (meant !== undefined) {
      throw new ConfigError(name, `${name} is not a known variable; did you mean ${meant}?`);
    }
  }
}

/**
 * A copy of `config` with some fields replaced, validated again with the same rules (a wrong
 * override throws ConfigError naming the field and its variable) and frozen.
 */
export function withOverrides(config: Config, overrides: DeepPartial<Config>): Config {
  return validate(merge(config, overrides), new Map());
}

function readVariable(variable: LeafMeta, text: string, profile?: string): unknown {
  const read = variable.fromEnv(text);
  if ('problem' in read) throw envError(variable, text, read.problem, profile);
  return read.value;
}

/** `HTTP_PORT="x" is invalid (...)`, after `<file>: ` when a profile set it. */
function envError(variable: LeafMeta, text: string, problem: string, profile?: string): ConfigError {
  const shown = variable.secret ? '<redacted>' : (variable.shown?.(text) ?? JSON.stringify(text));
  const where = profile === undefined ? '' : `${profile}: `;
  return new ConfigError(
    variable.name,
    `${where}${variable.name}=${shown} is invalid (${problem}): must be ${variable.rule}`,
  );
}

function validate(input: unknown, envText: EnvText): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return deepFreeze(result.data);
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError('config', 'the configuration is invalid');
  throw issueError(issue, input, envText);
}

function issueError(issue: z.core.$ZodIssue, input: unknown, envText: EnvText): ConfigError {
  const issuePath = issue.path.map(String);
  // A leaf's own inside (an item of a list: logRedact.3) is reported as the leaf.
  const depth = [...issuePath.keys()]
    .reverse()
    .find((n) => variableOfField.has(issuePath.slice(0, n + 1).join('.')));
  const path = depth === undefined ? issuePath : issuePath.slice(0, depth + 1);
  const variable = variableOfField.get(path.join('.'));
  if (issue.code === 'unrecognized_keys' || variable === undefined) return unknownFields(issue, issuePath);
  if (issue.code === 'custom' && !isLeafIssue(issue)) {
    return new ConfigError(variable.name, render(issue.message, envText));
  }
  const source = envText.get(variable.field);
  if (source?.text !== undefined) return envError(variable, source.text, issue.message, source.profile);
  const value = valueAt(input, path);
  const shown = variable.secret
    ? '<redacted>'
    : typeof value === 'string' && variable.shown
      ? variable.shown(value)
      : show(value);
  return new ConfigError(
    variable.name,
    `${variable.field} (${variable.name}) = ${shown} is invalid: must be ${variable.fieldRule}`,
  );
}

function unknownFields(issue: z.core.$ZodIssue, path: readonly string[]): ConfigError {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const fields = keys.length > 0 ? keys.map((key) => [...path, key].join('.')) : [path.join('.')];
  const shown = fields.map((field) => (/^[\w.]+$/.test(field) ? field : JSON.stringify(field)));
  return new ConfigError(fields[0] || 'config', `unknown config field ${shown.join(', ')}`);
}

/** A value set in code, as JSON where it can be (a BigInt or a cycle cannot). */
function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : Object.prototype.toString.call(value);
  }
}

/** The schema freezes its objects; this also freezes what they hold (LOG_REDACT's list...). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) Object.freeze(value);
  if (typeof value === 'object' && value !== null) Object.values(value).forEach(deepFreeze);
  return value;
}

/**
 * `{backoff.baseMs}` -> `RETRY_BACKOFF_BASE`; `RETRY_BACKOFF_BASE (from <profile file>)` when a
 * profile set it; `backoff.baseMs (RETRY_BACKOFF_BASE)` when set in code.
 */
function render(template: string, envText: EnvText): string {
  return template.replace(/\{([\w.]+)\}/g, (_, field: string) => {
    const variable = variableOfField.get(field);
    if (variable === undefined) return field;
    const source = envText.get(field);
    if (source === undefined) return `${field} (${variable.name})`;
    return source.profile === undefined ? variable.name : `${variable.name} (from ${source.profile})`;
  });
}

/** The package's own config/ folder: two levels up from src/config/ or dist/config/. */
const PACKAGE_CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

/** The profile's file: in `configDir` if given, else the working directory's, else the package's. */
function profileFile(profile: string, configDir: string | undefined): string {
  if (configDir !== undefined) return resolve(configDir, `${profile}.json`);
  const local = resolve('config', `${profile}.json`);
  return existsSync(local) ? local : resolve(PACKAGE_CONFIG_DIR, `${profile}.json`);
}

interface Profile {
  readonly file: string;
  /** Variable name -> value as a string; only names of ours (own keys, checked one by one). */
  readonly values: ReadonlyMap<string, string>;
}

function readProfile(env: Environment, configDir: string | undefined): Profile | undefined {
  const profile = env.CONFIG_PROFILE;
  if (!profile) return undefined;
  readVariable(profileVariable, profile);
  const file = profileFile(profile, configDir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(
      'CONFIG_PROFILE',
      `CONFIG_PROFILE=${JSON.stringify(profile)}: cannot read ${file}`,
      { cause },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError(
      'CONFIG_PROFILE',
      `CONFIG_PROFILE=${JSON.stringify(profile)}: ${file} must hold a JSON object of variable names to values`,
    );
  }
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (!fieldNames.has(key)) {
      const meant = meantVariable(key, typeof value === 'string' ? value : '', KNOWN);
      const hint = meant === undefined ? '' : `; did you mean ${meant}?`;
      // An empty key names no variable: the error names the profile.
      const [variable, shown] = key === '' ? ['CONFIG_PROFILE', '"" (in CONFIG_PROFILE)'] : [key, key];
      throw new ConfigError(variable, `${file}: ${shown} is not a known variable${hint}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(key, `${file}: ${key} must be a string, number or boolean`);
    }
    values.set(key, String(value));
  }
  return { file, values };
}

/** The variables a profile may set: a Set, so `constructor` or `__proto__` is never "known". */
const fieldNames: ReadonlySet<string> = new Set(fieldVariables.map(({ name }) => name));

/** Our variables that are set and not empty (empty means unset, as in most shells' habits). */
function definedOnly(env: Environment): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const { name } of fieldVariables) {
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (typeof value === 'string' && value !== '') out.set(name, value);
  }
  return out;
}

/**
 * `patch` over `base`, own keys only. The result has no prototype, so a `__proto__` key in the
 * patch (JSON.parse makes one) stays a key, and the schema rejects it as an unknown field
 * instead of it replacing the object's prototype and vanishing.
 */
function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = Object.assign(Object.create(null) as object, base);
  for (const [key, value] of Object.entries(patch)) out[key] = merge(ownValue(base, key), value);
  return out;
}

function ownValue(tree: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(tree, key) ? tree[key] : undefined;
}

function valueAt(tree: unknown, path: readonly string[]): unknown {
  let node = tree;
  for (const key of path) node = isPlainObject(node) ? ownValue(node, key) : undefined;
  return node;
}

function setAt(tree: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    tree[head] = value;
    return;
  }
  const child = isPlainObject(tree[head]) ? tree[head] : {};
  tree[head] = child;
  setAt(child, rest, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
