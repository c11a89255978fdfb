import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { LeafMeta } from './leaves.js';
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
  readonly configDir?: string;
  /** Settings in Config's terms that win over the environment; validated with everything else. */
  readonly overrides?: DeepPartial<Config>;
}

/**
 * Where each field's value came from: fields in this map were read from the environment (or a
 * profile, or the default), with the string as written (undefined: unset). Other fields came
 * from the caller in Config's terms, and errors name them by field.
 */
type EnvText = ReadonlyMap<string, string | undefined>;

/**
 * The only reader of process.env. Reads every variable (profile first, the environment wins),
 * applies defaults, merges `options.overrides`, then validates the result against the schema,
 * cross-field rules included, and returns a frozen Config. Throws ConfigError naming the first
 * variable that is wrong.
 */
export function loadConfig(env: Environment = process.env, options: LoadOptions = {}): Config {
  const strings = { ...readProfile(env, options.configDir), ...definedOnly(env) };
  const overrides = options.overrides ?? {};
  const envText = new Map<string, string | undefined>();
  const input: Record<string, unknown> = {};
  for (const variable of fieldVariables) {
    if (valueAt(overrides, variable.path) !== undefined) continue;
    const text = strings[variable.name] ?? variable.default;
    setAt(input, variable.path, text === undefined ? undefined : readVariable(variable, text));
    envText.set(variable.field, text);
  }
  return validate(merge(input, overrides), envText);
}

/**
 * A copy of `config` with some fields replaced, validated again with the same rules (a wrong
 * override throws ConfigError naming the field and its variable) and frozen.
 */
export function withOverrides(config: Config, overrides: DeepPartial<Config>): Config {
  return validate(merge(config, overrides), new Map());
}

function readVariable(variable: LeafMeta, text: string): unknown {
  const read = variable.fromEnv(text);
  if ('problem' in read) throw envError(variable, text, read.problem);
  return read.value;
}

function envError(variable: LeafMeta, text: string, problem: string): ConfigError {
  const shown = variable.secret ? '<redacted>' : JSON.stringify(text);
  return new ConfigError(
    variable.name,
    `${variable.name}=${shown} is invalid (${problem}): must be ${variable.rule}`,
  );
}

function validate(input: unknown, envText: EnvText): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError('config', 'the configuration is invalid');
  throw issueError(issue, input, envText);
}

function issueError(issue: z.core.$ZodIssue, input: unknown, envText: EnvText): ConfigError {
  const path = issue.path.map(String);
  const variable = variableOfField.get(path.join('.'));
  if (issue.code === 'unrecognized_keys' || variable === undefined) return unknownFields(issue, path);
  if (issue.code === 'custom') return new ConfigError(variable.name, render(issue.message, envText));
  const text = envText.get(variable.field);
  if (text !== undefined) return envError(variable, text, issue.message);
  const value = valueAt(input, path);
  const shown = variable.secret ? '<redacted>' : (JSON.stringify(value) ?? String(value));
  return new ConfigError(
    variable.name,
    `${variable.field} (${variable.name}) = ${shown} is invalid: must be ${variable.fieldRule}`,
  );
}

function unknownFields(issue: z.core.$ZodIssue, path: readonly string[]): ConfigError {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const fields = keys.length > 0 ? keys.map((key) => [...path, key].join('.')) : [path.join('.')];
  return new ConfigError(fields[0] ?? 'config', `unknown config field ${fields.join(', ')}`);
}

/** `{backoff.baseMs}` -> `RETRY_BACKOFF_BASE`, or `backoff.baseMs (RETRY_BACKOFF_BASE)` when set in code. */
function render(template: string, envText: EnvText): string {
  return template.replace(/\{([\w.]+)\}/g, (_, field: string) => {
    const variable = variableOfField.get(field);
    if (variable === undefined) return field;
    return envText.has(field) ? variable.name : `${field} (${variable.name})`;
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

function readProfile(env: Environment, configDir: string | undefined): Record<string, string> {
  const profile = env.CONFIG_PROFILE;
  if (!profile) return {};
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
    throw new ConfigError('CONFIG_PROFILE', `${file} must hold a JSON object of variable names to values`);
  }
  const known = new Set(fieldVariables.map((variable) => variable.name));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.has(key)) throw new ConfigError(key, `${file}: ${key} is not a known variable`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(key, `${file}: ${key} must be a string, number or boolean`);
    }
    out[key] = String(value);
  }
  return out;
}

function definedOnly(env: Environment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of fieldVariables) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = merge(base[key], value);
  return out;
}

function valueAt(tree: unknown, path: readonly string[]): unknown {
  let node = tree;
  for (const key of path) node = isPlainObject(node) ? node[key] : undefined;
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
