import { startEmulators, type EmbeddedEmulators } from '../../src/aws/embedded.js';
import { useResource } from './hooks.js';

/**
 * SQS's query protocol by hand, for tests of the embedded emulator's adapter: form-encoded requests
 * (unsigned; fauxqs checks no signature) and a strict little XML reader for the answers.
 */

/** The embedded emulators (fauxqs behind the query-protocol adapter) for a describe block. */
export function useEmbeddedEmulators(): EmbeddedEmulators {
  return useResource(
    'useEmbeddedEmulators()',
    () => startEmulators({ sqs: 0, dynamodb: 0 }),
    (e) => e.stop(),
  );
}

export interface QueryAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly xml: XmlElement;
}

export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  /** The element's own text, entities resolved (mixed content does not occur in SQS answers). */
  readonly text: string;
}

/**
 * Sends `params` (Action included) as a form-encoded POST to `path` (default `/`), or as a GET with
 * the parameters in the query string.
 */
export async function query(
  endpoint: string,
  params: Record<string, string>,
  options: { path?: string; method?: 'POST' | 'GET'; headers?: Record<string, string> } = {},
): Promise<QueryAnswer> {
  const form = new URLSearchParams(params).toString();
  const url = `${endpoint}${options.path ?? '/'}`;
  const res =
    options.method === 'GET'
      ? await fetch(`${url}?${form}`, { headers: options.headers ?? {} })
      : await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...options.headers },
          body: form,
        });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    xml: parseXml(await res.text()),
  };
}

/** The first descendant with this path of names (`child(x, 'SendMessageResult', 'MessageId')`). */
export function child(element: XmlElement, ...path: string[]): XmlElement {
  let at = element;
  for (const name of path) {
    const next = at.children.find((c) => c.name === name);
    if (next === undefined) throw new Error(`no <${name}> in <${at.name}>`);
    at = next;
  }
  return at;
}

export function text(element: XmlElement, ...path: string[]): string {
  return child(element, ...path).text;
}

export function all(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** `<Name>k</Name><Value>v</Value>` entries (`<Attribute>`, `<MessageAttribute>`) as a record. */
export function entries(element: XmlElement, name: string): Record<string, XmlElement> {
  return Object.fromEntries(all(element, name).map((e) => [text(e, 'Name'), child(e, 'Value')]));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Parses a document of elements and text (no CDATA, comments or attributes but the root's xmlns),
 * and fails on anything not well formed. Line ends are normalised as XML parsers do (a literal CR
 * or CR LF becomes LF), so a body whose CR the server forgot to escape comes back changed here too.
 */
export function parseXml(document: string): XmlElement {
  const source = document.replace(/^<\?xml[^?]*\?>\s*/, '').replace(/\r\n?/g, '\n');
  let at = 0;
  const element = (): XmlElement => {
    const open = /^<([A-Za-z][\w.-]*)(\s+xmlns="[^"]*")?\s*(\/?)>/.exec(source.slice(at));
    if (open === null) throw new Error(`expected an element at ${at}: ${source.slice(at, at + 40)}`);
    at += open[0].length;
    const name = open[1] as string;
    const node: XmlElement = { name, children: [], text: '' };
    if (open[3] === '/') return node;
    let content = '';
    for (;;) {
      const lt = source.indexOf('<', at);
      if (lt === -1) throw new Error(`<${name}> is not closed`);
      content += source.slice(at, lt);
      at = lt;
      if (source.startsWith(`</${name}>`, at)) {
        at += name.length + 3;
        return { ...node, text: decode(content) };
      }
      node.children.push(element());
    }
  };
  const root = element();
  if (source.slice(at).trim() !== '') throw new Error(`text after the root element: ${source.slice(at)}`);
  return root;
}

function decode(raw: string): string {
  if (/[<>]/.test(raw)) throw new Error(`unescaped markup in text: ${raw}`);
  return raw.replace(/&([^;]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new Error(`a bare & in text: ${raw}`);
    const hex = /^#x([0-9a-fA-F]+)$/.exec(name);
    const dec = /^#(\d+)$/.exec(name);
    if (hex !== null) return String.fromCodePoint(parseInt(hex[1] as string, 16));
    if (dec !== null) return String.fromCodePoint(Number(dec[1]));
    const entity = ENTITIES[name];
    if (entity === undefined) throw new Error(`unknown entity &${name};`);
    return entity;
  });
}
