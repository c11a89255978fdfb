import { MAX_JSON_DEPTH } from '../core/canonical-json.js';

/**
 * What SQS accepts in a message, as pure functions: the sidecar's /seed and /records routes check
 * their input with these before anything is sent, so that input SQS would refuse is a 400 naming
 * the field instead of a 503 after a failed send (or a crash). The CLI's producer can use the same.
 *
 * The rules, from the SQS API reference (SendMessage, MessageAttributeValue):
 * - body and String attribute values: only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 *   #x10000-#x10FFFF (so no NUL, no other C0 control, no U+FFFE/U+FFFF, no lone surrogate);
 * - attribute names: 1 to 256 of A-Z a-z 0-9 _ - . ; not starting or ending with `.`, no `..`,
 *   not starting with `AWS.` or `Amazon.` in any case;
 * - at most 10 attributes, and body plus attributes (names, types, values) at most 256 KiB.
 * And one of ours: a JSON body nests at most MAX_JSON_DEPTH levels, as the worker requires
 * (deeper bodies are dead-lettered there as BODY_TOO_DEEP).
 */

/** Input that SQS (or the worker) would refuse: `field` is a dotted path (`messages.0.body`). */
export interface InputProblem {
  readonly field: string;
  readonly message: string;
}

/** SQS's largest message, bytes: the body and all its attributes. */
export const MAX_MESSAGE_BYTES = 262_144;
export const MAX_ATTRIBUTE_NAME_LENGTH = 256;
export const MAX_ATTRIBUTES = 10;
/** DynamoDB's largest partition key, bytes: no cursor (a record key) can be longer. */
export const MAX_CURSOR_BYTES = 2048;
export { MAX_JSON_DEPTH };

/** Any code point outside SQS's allowed set; a lone surrogate is one (the `u` flag sees it alone). */
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]+$/;
const RESERVED_PREFIX = /^(aws|amazon)\./i;

/** The first character SQS does not allow in `text`, with its UTF-16 index. */
export function forbiddenCharacter(text: string): { index: number; codePoint: number } | undefined {
  const match = FORBIDDEN.exec(text);
  if (match === null) return undefined;
  return { index: match.index, codePoint: text.codePointAt(match.index) ?? 0 };
}

/** `field` holds text SQS would refuse: which character, and where. */
export function textProblem(field: string, text: string): InputProblem | undefined {
  const bad = forbiddenCharacter(text);
  if (bad === undefined) return undefined;
  const name = `U+${bad.codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  const what = bad.codePoint >= 0xd800 && bad.codePoint <= 0xdfff ? `lone surrogate ${name}` : name;
  return {
    field,
    message: `${field}: character ${what} at index ${bad.index} is not allowed by SQS (allowed: tab, line feed, carriage return, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF)`,
  };
}

/** A message attribute name SQS would refuse, or one that is the idempotency key's attribute. */
export function attributeNameProblem(
  field: string,
  name: string,
  keyAttribute?: string,
): InputProblem | undefined {
  const problem = (rule: string): InputProblem => ({ field, message: `attribute name ${rule}` });
  if (name.length === 0) return problem('is empty');
  if (name.length > MAX_ATTRIBUTE_NAME_LENGTH) {
    return problem(`is longer than ${MAX_ATTRIBUTE_NAME_LENGTH} characters`);
  }
  if (!ATTRIBUTE_NAME.test(name)) return problem('may hold only A-Z, a-z, 0-9, _, - and .');
  if (name.startsWith('.') || name.endsWith('.')) return problem('must not start or end with .');
  if (name.includes('..')) return problem('must not contain ..');
  if (RESERVED_PREFIX.test(name)) return problem('must not start with AWS. or Amazon. (reserved)');
  if (name === keyAttribute) {
    return problem(`${name} is the idempotency key's attribute: give the key as key`);
  }
  return undefined;
}

/** The parts of an explicit message these rules look at. */
export interface MessageInput {
  readonly body: unknown;
  readonly key?: string | undefined;
  readonly attributes?: Readonly<Record<string, string>> | undefined;
}

export interface MessageRules {
  /** The attribute that carries the idempotency key: it may not be given as an attribute too. */
  readonly keyAttribute?: string;
}

/**
 * The text SQS would receive for `body`: a string as it is, anything else as its JSON, once its
 * nesting is known to be within MAX_JSON_DEPTH (JSON.stringify recurses, and overflows the stack
 * on deep input).
 */
export function bodyText(field: string, body: unknown): { text: string } | InputProblem {
  if (typeof body === 'string') return { text: body };
  const depth = nestingOver(body, MAX_JSON_DEPTH);
  if (depth !== undefined) {
    return { field, message: `${field} is nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  const text = JSON.stringify(body) as string | undefined;
  if (text === undefined) return { field, message: `${field} is not JSON` };
  return { text };
}

/** What is wrong with one message, or undefined; `field` names it (`messages.3`). */
export function messageProblem(
  field: string,
  message: MessageInput,
  rules: MessageRules = {},
): InputProblem | undefined {
  const body = bodyText(`${field}.body`, message.body);
  if ('field' in body) return body;
  const bodyProblem = textProblem(`${field}.body`, body.text);
  if (bodyProblem) return bodyProblem;
  const bodyBytes = Buffer.byteLength(body.text);
  if (bodyBytes > MAX_MESSAGE_BYTES) {
    return {
      field: `${field}.body`,
      message: `${field}.body is ${bodyBytes} bytes, over SQS's ${MAX_MESSAGE_BYTES}`,
    };
  }
  if (message.key !== undefined) {
    const keyProblem = textProblem(`${field}.key`, message.key);
    if (keyProblem) return keyProblem;
  }
  const attributes = Object.entries(message.attributes ?? {});
  const count = attributes.length + (message.key === undefined ? 0 : 1);
  if (count > MAX_ATTRIBUTES) {
    return {
      field: `${field}.attributes`,
      message: `${count} attributes${message.key === undefined ? '' : ' with the key'}, over SQS's ${MAX_ATTRIBUTES}`,
    };
  }
  let bytes = bodyBytes + attributeBytes(rules.keyAttribute ?? '', message.key);
  for (const [name, value] of attributes) {
    const at = `${field}.attributes.${name}`;
    const problem = attributeNameProblem(at, name, rules.keyAttribute) ?? textProblem(at, value);
    if (problem) return problem;
    bytes += attributeBytes(name, value);
  }
  if (bytes > MAX_MESSAGE_BYTES) {
    return {
      field: `${field}.attributes`,
      message: `body and attributes are ${bytes} bytes together, over SQS's ${MAX_MESSAGE_BYTES}`,
    };
  }
  return undefined;
}

/** The first problem among `messages`, each named `messages.<index>`. */
export function messagesProblem(
  messages: readonly MessageInput[],
  rules: MessageRules = {},
): InputProblem | undefined {
  for (const [i, message] of messages.entries()) {
    const problem = messageProblem(`messages.${i}`, message, rules);
    if (problem) return problem;
  }
  return undefined;
}

/** A records cursor is a record key: text DynamoDB can hold, within its key size. */
export function cursorProblem(field: string, cursor: string): InputProblem | undefined {
  const problem = textProblem(field, cursor);
  if (problem) return problem;
  const bytes = Buffer.byteLength(cursor);
  if (bytes > MAX_CURSOR_BYTES) {
    return { field, message: `${field} is ${bytes} bytes, over the ${MAX_CURSOR_BYTES} of a record key` };
  }
  return undefined;
}

/** A String attribute's size as SQS counts it: name, data type and value. */
function attributeBytes(name: string, value: string | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
}

/**
 * The first depth over `max` at which `value` nests arrays or objects (a top-level object is
 * depth 1), or undefined. Iterative: no input can overflow the stack.
 */
function nestingOver(value: unknown, max: number): number | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > max) return depth;
    for (const child of Object.values(item)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
