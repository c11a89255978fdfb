import { MAX_JSON_DEPTH, canonicalJson } from '../core/canonical-json.js';
import type { SeedBody } from './schemas.js';

/**
 * Checks of explicit /seed messages that seeding/validate.ts (SQS's rules) does not make:
 * - a body given as a string whose text is JSON nested deeper than MAX_JSON_DEPTH: the worker
 *   would dead-letter it as BODY_TOO_DEEP, so /seed refuses it, like a deep object body;
 * - in embedded mode, characters above U+FFFF (emoji...) in a body or attribute value: real SQS
 *   accepts them, the in-process emulator (fauxqs) does not, and the send would fail with a 503.
 */

export interface SeedProblem {
  readonly field: string;
  readonly message: string;
}

type Messages = NonNullable<SeedBody['messages']>;

/** Any code point above U+FFFF: a surrogate pair in UTF-16. */
const ASTRAL = /[\u{10000}-\u{10FFFF}]/u;

export function seedMessagesProblem(messages: Messages, embedded: boolean): SeedProblem | undefined {
  for (const [index, message] of messages.entries()) {
    const field = `messages.${index}.body`;
    if (typeof message.body === 'string' && canonicalJson(message.body).kind === 'too_deep') {
      return {
        field,
        message: `${field}: JSON nested deeper than ${MAX_JSON_DEPTH} levels (the worker would dead-letter it as BODY_TOO_DEEP)`,
      };
    }
    if (!embedded) continue;
    const problem =
      astralProblem(field, bodyText(message.body)) ?? attributesProblem(index, message.attributes);
    if (problem) return problem;
  }
  return undefined;
}

function attributesProblem(index: number, attributes: Readonly<Record<string, string>> | undefined) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    const problem = astralProblem(`messages.${index}.attributes.${name}`, value);
    if (problem) return problem;
  }
  return undefined;
}

function astralProblem(field: string, text: string): SeedProblem | undefined {
  const match = ASTRAL.exec(text);
  if (match === null) return undefined;
  const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase();
  return {
    field,
    message: `${field}: character U+${code} at index ${match.index}: the embedded SQS emulator cannot store characters above U+FFFF (real SQS accepts them; use a real queue or leave them out)`,
  };
}

function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
}
