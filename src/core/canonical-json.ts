/**
 * The canonical form of a JSON text, read from the text itself (never from JSON.parse's values,
 * which lose digits): what the payload hash covers.
 *
 * - whitespace outside strings is dropped;
 * - numbers are kept exactly as written (`1.0`, `1`, `1e2` and `100` stay four different numbers;
 *   `9007199254740993` keeps its last digit);
 * - strings are decoded and written again as JSON.stringify writes them (so `"\u0041"` and `"A"`
 *   are the same string; lone surrogates are written `\udxxx`);
 * - object members are sorted by key, comparing UTF-16 code units (Array.prototype.sort's order);
 *   when a key occurs twice in one object the last member wins, as in JSON.parse, so the form
 *   covers exactly the object the handler receives;
 * - `true`, `false` and `null` as they are.
 *
 * The reader accepts exactly what JSON.parse accepts (RFC 8259), iteratively, so no nesting depth
 * can overflow the stack. Nesting deeper than `maxDepth` is reported, not read: such a body is
 * refused by the worker (core/message.ts), since a handler walking it recursively would crash.
 */

export type CanonicalJson =
  /** The text is JSON: its canonical form. */
  | { readonly kind: 'json'; readonly canonical: string }
  /** The text is not JSON (the worker handles it as raw text). */
  | { readonly kind: 'text' }
  /** The text is JSON nested deeper than maxDepth: `depth` is the first level over it. */
  | { readonly kind: 'too_deep'; readonly depth: number };

/** Deepest nesting of arrays and objects a body may have: far below any stack limit. */
export const MAX_JSON_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** An open array or object (below maxDepth): what it has collected so far. */
interface Frame {
  readonly array: boolean;
  /** Arrays: the canonical elements so far. */
  readonly elements: string[];
  /** Objects: canonical member (`"key":value`) by decoded key (the last of a repeated key wins). */
  readonly members: Map<string, string> | undefined;
  /** Objects: the decoded key whose value is being read, and its canonical text. */
  key: string;
  keyText: string;
}

class NotJson extends Error {}

/** Reads `source` as JSON and returns its canonical form; see the module comment. */
export function canonicalJson(source: string, maxDepth: number = MAX_JSON_DEPTH): CanonicalJson {
  try {
    return new Reader(source, maxDepth).read();
  } catch (error) {
    if (error instanceof NotJson) return { kind: 'text' };
    throw error;
  }
}

class Reader {
  readonly #s: string;
  readonly #maxDepth: number;
  #i = 0;
  /** Open containers within maxDepth. */
  readonly #frames: Frame[] = [];
  /** Open containers past maxDepth, only checked for balance: true for an array. */
  readonly #deep: boolean[] = [];
  #tooDeepAt = 0;
  /** Set by #string: the last literal read had no escape and no surrogate. */
  #plain = false;

  constructor(source: string, maxDepth: number) {
    this.#s = source;
    this.#maxDepth = maxDepth;
  }

  read(): CanonicalJson {
    this.#ws();
    let value = this.#value();
    for (;;) {
      // A value just ended (`value` is its canonical text, '' past maxDepth): close containers.
      this.#ws();
      const top = this.#deep.length > 0 ? undefined : this.#frames.at(-1);
      const depth = this.#frames.length + this.#deep.length;
      if (depth === 0) break;
      const array = top ? top.array : (this.#deep.at(-1) as boolean);
      if (top) this.#add(top, value);
      const c = this.#s.charCodeAt(this.#i);
      if (c === COMMA) {
        this.#i += 1;
        this.#ws();
        if (!array) this.#memberKey(top);
        value = this.#value();
        continue;
      }
      if (c !== (array ? CLOSE_ARRAY : CLOSE_OBJECT)) throw new NotJson();
      this.#i += 1;
      value = this.#close();
    }
    if (this.#i !== this.#s.length) throw new NotJson();
    if (this.#tooDeepAt > 0) return { kind: 'too_deep', depth: this.#tooDeepAt };
    return { kind: 'json', canonical: value };
  }

  /**
   * Reads a value at the cursor. A scalar is returned whole; an opening bracket is pushed and
   * the value returned is that of its first element, or the container itself when it is empty.
   */
  #value(): string {
    for (;;) {
      const c = this.#s.charCodeAt(this.#i);
      if (c !== OPEN_ARRAY && c !== OPEN_OBJECT) return this.#scalar(c);
      this.#i += 1;
      this.#open(c === OPEN_ARRAY);
      this.#ws();
      const close = this.#s.charCodeAt(this.#i);
      if (close === (c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        this.#i += 1;
        return this.#close();
      }
      if (c === OPEN_OBJECT) this.#memberKey(this.#deep.length > 0 ? undefined : this.#frames.at(-1));
    }
  }

  #open(array: boolean): void {
    const depth = this.#frames.length + this.#deep.length + 1;
    if (depth > this.#maxDepth) {
      if (this.#tooDeepAt === 0) this.#tooDeepAt = depth;
      this.#deep.push(array);
      return;
    }
    this.#frames.push({ array, elements: [], members: array ? undefined : new Map(), key: '', keyText: '' });
  }

  /** Pops the innermost container; returns its canonical text ('' past maxDepth). */
  #close(): string {
    if (this.#deep.length > 0) {
      this.#deep.pop();
      return '';
    }
    const frame = this.#frames.pop() as Frame;
    if (frame.array) return `[${frame.elements.join(',')}]`;
    const members = frame.members as Map<string, string>;
    const keys = [...members.keys()].sort();
    return `{${keys.map((key) => members.get(key) as string).join(',')}}`;
  }

  #add(frame: Frame, value: string): void {
    if (frame.members) frame.members.set(frame.key, `${frame.keyText}:${value}`);
    else frame.elements.push(value);
  }

  /** Reads `"key" :` and remembers the key in the object's frame (when there is one). */
  #memberKey(frame: Frame | undefined): void {
    const start = this.#i;
    if (this.#s.charCodeAt(start) !== QUOTE) throw new NotJson();
    const key = this.#string();
    const keyText = this.#plain ? this.#s.slice(start, this.#i) : JSON.stringify(key);
    this.#ws();
    if (this.#s.charCodeAt(this.#i) !== COLON) throw new NotJson();
    this.#i += 1;
    this.#ws();
    if (frame) {
      frame.key = key;
      frame.keyText = keyText;
    }
  }

  #scalar(c: number): string {
    if (c === QUOTE) {
      const start = this.#i;
      const text = this.#string();
      // Without escapes or surrogates, JSON.stringify would write the literal as it stands.
      return this.#plain ? this.#s.slice(start, this.#i) : JSON.stringify(text);
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number();
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    if (word === undefined || !this.#s.startsWith(word, this.#i)) throw new NotJson();
    this.#i += word.length;
    return word;
  }

  /**
   * A string literal at the cursor, decoded; #plain says whether it held no escape and no
   * surrogate (so that its canonical form is the literal itself).
   */
  #string(): string {
    const s = this.#s;
    let i = this.#i + 1;
    let out = '';
    let from = i;
    let plain = true;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c) || c < 0x20) throw new NotJson();
      if (c === QUOTE) break;
      if (c !== BACKSLASH) {
        if (c >= 0xd800 && c <= 0xdfff) plain = false;
        i += 1;
        continue;
      }
      plain = false;
      out += s.slice(from, i);
      const e = s.charCodeAt(i + 1);
      const simple = ESCAPES.get(e);
      if (simple !== undefined) {
        out += simple;
        i += 2;
      } else if (e === 0x75 && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
        out += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        throw new NotJson();
      }
      from = i;
    }
    this.#i = i + 1;
    this.#plain = plain;
    return out + s.slice(from, i);
  }

  /** A number literal at the cursor, as written. */
  #number(): string {
    NUMBER.lastIndex = this.#i;
    const match = NUMBER.exec(this.#s);
    if (!match) throw new NotJson();
    this.#i += match[0].length;
    return match[0];
  }

  #ws(): void {
    const s = this.#s;
    let i = this.#i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i += 1;
    }
    this.#i = i;
  }
}

/** RFC 8259's number, anchored at lastIndex. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

const ESCAPES = new Map<number, string>([
  [0x22, '"'],
  [0x5c, '\\'],
  [0x2f, '/'],
  [0x62, '\b'],
  [0x66, '\f'],
  [0x6e, '\n'],
  [0x72, '\r'],
  [0x74, '\t'],
]);
