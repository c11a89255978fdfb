import { z } from 'zod';
import { leafRegistry, type LeafMeta } from './leaves.js';
import { configSchema, profileVariable } from './schema.js';

/** A variable that sets one Config field. */
export interface FieldVariable extends LeafMeta {
  /** Where its value goes in Config, e.g. ['backoff', 'baseMs']. */
  readonly path: readonly string[];
  /** The same path, dotted: 'backoff.baseMs'. */
  readonly field: string;
}

function collect(schema: z.core.$ZodType, path: readonly string[]): FieldVariable[] {
  const meta = leafRegistry.get(schema);
  if (meta) return [{ ...meta, path, field: path.join('.') }];
  const inner = schema instanceof z.ZodReadonly ? schema.unwrap() : schema;
  if (!(inner instanceof z.ZodObject)) {
    throw new Error(`config schema: ${path.join('.')} is neither a group nor a leaf with a variable`);
  }
  return Object.entries(inner.shape).flatMap(([key, child]) => collect(child, [...path, key]));
}

/** The variable of every Config field, in the schema's order. */
export const fieldVariables: readonly FieldVariable[] = collect(configSchema, []);

/** By dotted field path. */
export const variableOfField: ReadonlyMap<string, FieldVariable> = new Map(
  fieldVariables.map((variable) => [variable.field, variable]),
);

/** Every variable the worker reads, as the README lists them: the profile first, then the fields. */
export const variables: readonly LeafMeta[] = [profileVariable, ...fieldVariables];
