import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { BodyCheck } from '../core/body-check.js';
import { ConfigError, describeError } from '../core/errors.js';
import { reason } from '../core/reasons.js';

const SCHEMA_RULE =
  'the path of a file holding a JSON Schema (draft 2020-12 or 7): an object, or true or false';

/**
 * MESSAGE_SCHEMA: a JSON Schema file that every body must satisfy. Bodies that are not JSON, or
 * that break the schema, are permanent failures (retrying cannot fix them). Ajv is the validator
 * Fastify already uses; the schema is compiled once at start, and a bad schema stops the process.
 */
export function loadBodyCheck(path: string): BodyCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      'MESSAGE_SCHEMA',
      `MESSAGE_SCHEMA=${JSON.stringify(path)}: cannot read JSON (${describeError(error)}): must be ${SCHEMA_RULE}`,
      { cause: error },
    );
  }
  // JSON Schema allows an object or a boolean (true: anything, false: nothing); not null, an
  // array, a number or a string, which Ajv would fail on with a TypeError, or accept.
  const isSchema =
    typeof parsed === 'boolean' || (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed));
  if (!isSchema) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new ConfigError(
      'MESSAGE_SCHEMA',
      `MESSAGE_SCHEMA=${JSON.stringify(path)}: the file holds ${kind}: must be ${SCHEMA_RULE}`,
    );
  }
  const schema = parsed as Record<string, unknown> | boolean;
  const declared = typeof schema === 'object' ? schema.$schema : undefined;
  const draft2020 = typeof declared === 'string' && declared.includes('2020-12');
  const ajv = draft2020
    ? new Ajv2020({ allErrors: false, strict: false })
    : new Ajv({ allErrors: false, strict: false });
  (addFormats as unknown as (a: object) => void)(ajv);
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new ConfigError(
      'MESSAGE_SCHEMA',
      `MESSAGE_SCHEMA=${JSON.stringify(path)}: invalid schema (${describeError(error)}): must be ${SCHEMA_RULE}`,
      { cause: error },
    );
  }
  return (message) => {
    // message.body is already parsed unless it is a string: then the body was either not JSON or
    // a JSON string literal, and only parsing the raw text tells which.
    let body = message.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(message.rawBody);
      } catch {
        return reason('INVALID_JSON');
      }
    }
    if (validate(body)) return undefined;
    const first = validate.errors?.[0];
    const where = first?.instancePath || '(root)';
    return reason('SCHEMA_VIOLATION', `${where} ${first?.message ?? 'is invalid'}`.slice(0, 512));
  };
}
