import type { MapShape, Shape, StructureShape } from './sqs-query-shapes.js';

/**
 * SQS's query protocol, both ways, driven by the shapes of ./sqs-query-shapes.ts: form parameters
 * (`SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=...`) into the JSON
 * protocol's input object, and the JSON protocol's output or error into the query protocol's XML.
 */

export const XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** A request the adapter refuses itself, before fauxqs sees it: answered as a query-protocol error. */
export class QueryProtocolError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'QueryProtocolError';
    this.code = code;
    this.status = status;
  }
}

/** The form's parameters, read into the JSON protocol's input for `shape`. */
export function readInput(
  params: ReadonlyMap<string, string>,
  shape: StructureShape,
): Record<string, unknown> {
  return readStructure(params, '', shape) ?? {};
}

function readValue(params: ReadonlyMap<string, string>, key: string, shape: Shape): unknown {
  switch (shape.type) {
    case 'structure':
      return readStructure(params, `${key}.`, shape);
    case 'list': {
      const items = entryIndexes(params, key).map((index) =>
        readValue(params, `${key}.${index}`, shape.member),
      );
      return items.length > 0 ? items : undefined;
    }
    case 'map':
      return readMap(params, key, shape);
    case 'integer':
      return readInteger(params, key);
    case 'boolean': {
      const text = params.get(key);
      return text === undefined ? undefined : text === 'true';
    }
    default:
      return params.get(key);
  }
}

function readStructure(
  params: ReadonlyMap<string, string>,
  prefix: string,
  shape: StructureShape,
): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const [member, { name, shape: memberShape }] of Object.entries(shape.members)) {
    const value = readValue(params, `${prefix}${name ?? member}`, memberShape);
    if (value !== undefined) (out ??= {})[member] = value;
  }
  return out;
}

function readMap(params: ReadonlyMap<string, string>, key: string, shape: MapShape): unknown {
  let out: Record<string, unknown> | undefined;
  for (const index of entryIndexes(params, key)) {
    const entryKey = params.get(`${key}.${index}.${shape.keyName}`);
    if (entryKey === undefined) {
      throw new QueryProtocolError('MissingParameter', `${key}.${index}.${shape.keyName} is missing.`);
    }
    (out ??= {})[entryKey] = readValue(params, `${key}.${index}.${shape.valueName}`, shape.value);
  }
  return out;
}

function readInteger(params: ReadonlyMap<string, string>, key: string): number | undefined {
  const text = params.get(key);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(text)) {
    throw new QueryProtocolError('InvalidParameterValue', `Value ${text} for parameter ${key} is invalid.`);
  }
  return Number(text);
}

/** The N of every `<key>.N` or `<key>.N.<more>` parameter, in numeric order (gaps allowed). */
function entryIndexes(params: ReadonlyMap<string, string>, key: string): number[] {
  const indexes = new Set<number>();
  const prefix = `${key}.`;
  for (const name of params.keys()) {
    if (!name.startsWith(prefix)) continue;
    const segment = name.slice(prefix.length).split('.', 1)[0] ?? '';
    if (/^[1-9]\d{0,4}$/.test(segment)) indexes.add(Number(segment));
  }
  return [...indexes].sort((a, b) => a - b);
}

/** The query protocol's success answer: `<XResponse><XResult>...</XResult><ResponseMetadata>`. */
export function writeResponse(
  action: string,
  output: Record<string, unknown>,
  shape: StructureShape | undefined,
  requestId: string,
): string {
  const result = shape === undefined ? '' : writeElement(`${action}Result`, output, shape);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XML_NAMESPACE}">${result}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The query protocol's error answer; `type` is Sender (the caller's fault) or Receiver. */
export function writeError(
  error: { code: string; message: string; type: 'Sender' | 'Receiver' },
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${XML_NAMESPACE}"><Error>` +
    `<Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message><Detail/></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}

function writeElement(name: string, value: unknown, shape: Shape): string {
  if (value === undefined || value === null) return '';
  switch (shape.type) {
    case 'structure': {
      const record = value as Record<string, unknown>;
      const inner = Object.entries(shape.members)
        .map(([member, m]) => writeElement(m.name ?? member, record[member], m.shape))
        .join('');
      return `<${name}>${inner}</${name}>`;
    }
    case 'list':
      return Array.isArray(value) ? value.map((item) => writeElement(name, item, shape.member)).join('') : '';
    case 'map':
      return Object.entries(value as Record<string, unknown>)
        .map(
          ([key, item]) =>
            `<${name}><${shape.keyName}>${escapeXml(key)}</${shape.keyName}>` +
            `${writeElement(shape.valueName, item, shape.value)}</${name}>`,
        )
        .join('');
    default:
      return `<${name}>${escapeXml(String(value as string | number | boolean))}</${name}>`;
  }
}

/**
 * Text for XML element content. Besides the five markup characters, a carriage return is written
 * as a character reference: an XML parser turns a literal CR (and CR LF) into LF, so a body with
 * CR LF would come back changed and fail the client's MD5 check. Characters XML 1.0 cannot carry
 * at all (other C0 controls, lone surrogates, U+FFFE/U+FFFF; SQS refuses them in bodies) become
 * U+FFFD so that the answer always parses.
 */
export function escapeXml(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[&<>"'\r]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (char) => ESCAPES[char] ?? '\uFFFD',
  );
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#xD;',
};
