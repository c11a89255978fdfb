import { canonicalJson } from '../../src/core/canonical-json.js';
import {
  MAX_JSON_DEPTH,
  attributeNameProblem,
  bodyText,
  cursorProblem,
  forbiddenCharacter,
  messageProblem,
  messagesProblem,
} from '../../src/seeding/validate.js';

/** The message rules of seeding/validate.ts, as pure functions. */

describe('forbiddenCharacter', () => {
  it.each([
    ['', undefined],
    ['plain', undefined],
    ['\t\n\r', undefined],
    ['\u{10FFFF}\u{1F600}', undefined],
    ['\ud7ff\ue000\ufffd', undefined],
    ['ab\u0000', { index: 2, codePoint: 0 }],
    ['\u000b', { index: 0, codePoint: 0x0b }],
    ['x\ufffe', { index: 1, codePoint: 0xfffe }],
    ['x\uffff', { index: 1, codePoint: 0xffff }],
    ['x\ud83d', { index: 1, codePoint: 0xd83d }],
    ['x\ude00y', { index: 1, codePoint: 0xde00 }],
    ['\ude00\ud83d', { index: 0, codePoint: 0xde00 }],
  ])('%j -> %j', (text, expected) => {
    expect(forbiddenCharacter(text)).toEqual(expected);
  });

  it('agrees with the allowed set on every BMP code unit', () => {
    const allowed = (c: number) =>
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd);
    for (let c = 0; c <= 0xffff; c += 1) {
      expect([c, forbiddenCharacter(String.fromCharCode(c)) === undefined]).toEqual([c, allowed(c)]);
    }
  });
});

describe('bodyText', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { v: value };
    return value;
  };

  it('sends a string as it is and anything else as its JSON', () => {
    expect(bodyText('b', 'as is')).toEqual({ text: 'as is' });
    expect(bodyText('b', { a: [1, 'x'] })).toEqual({ text: '{"a":[1,"x"]}' });
  });

  it('refuses nesting deeper than the worker reads, at the same depth as the worker', () => {
    for (const depth of [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1]) {
      const ours = bodyText('b', nested(depth));
      const text = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      const worker = canonicalJson(text).kind;
      expect([depth, 'text' in ours, worker]).toEqual([
        depth,
        depth <= MAX_JSON_DEPTH,
        'text' in ours ? 'json' : 'too_deep',
      ]);
    }
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(bodyText('messages.0.body', nested(100_000))).toEqual({
      field: 'messages.0.body',
      message: `messages.0.body is nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });
});

describe('attributeNameProblem', () => {
  it.each(['a', 'Z9', 'a.b.c', 'x-y_z', 'AWS', 'AWS_x', 'amazonx.y', 'a'.repeat(256)])(
    'accepts %s',
    (name) => {
      expect(attributeNameProblem('f', name)).toBeUndefined();
    },
  );

  it.each([
    ['', 'is empty'],
    ['a'.repeat(257), 'longer than 256'],
    ['a b', 'only A-Z'],
    ['é', 'only A-Z'],
    ['.a', 'start or end'],
    ['a.', 'start or end'],
    ['a..b', 'contain ..'],
    ['AWS.x', 'reserved'],
    ['aws.x', 'reserved'],
    ['Amazon.x', 'reserved'],
    ['aMaZoN.x', 'reserved'],
    ['IdempotencyKey', 'the idempotency key'],
  ])('refuses %j (%s)', (name, rule) => {
    expect(attributeNameProblem('f', name, 'IdempotencyKey')?.message).toContain(rule);
  });
});

describe('messageProblem and messagesProblem', () => {
  it('names the field of the first problem', () => {
    expect(messagesProblem([{ body: 'ok' }, { body: 'ok', key: '\ufffe' }])?.field).toBe('messages.1.key');
    expect(messageProblem('m', { body: 'ok', attributes: { ok: 'v', 'b..d': 'v' } })?.field).toBe(
      'm.attributes.b..d',
    );
    expect(messagesProblem([{ body: 'ok', key: 'k', attributes: { a: 'v' } }])).toBeUndefined();
  });

  it('counts the key among the 10 attributes SQS allows', () => {
    const attributes = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, 'v']));
    expect(messageProblem('m', { body: 'x', attributes })).toBeUndefined();
    expect(messageProblem('m', { body: 'x', key: 'k', attributes })?.field).toBe('m.attributes');
  });

  it('counts body, names, types and values against 256 KiB', () => {
    const body = 'b'.repeat(262_144 - 'a'.length - 'String'.length - 1);
    expect(messageProblem('m', { body, attributes: { a: 'v' } })).toBeUndefined();
    expect(messageProblem('m', { body, attributes: { a: 'vv' } })?.field).toBe('m.attributes');
    expect(messageProblem('m', { body: `${body}${'b'.repeat(100)}` })?.field).toBe('m.body');
    expect(messageProblem('m', { body: 'é'.repeat(131_073) })?.message).toContain('262146 bytes');
  });
});

describe('cursorProblem', () => {
  it('takes any record key and refuses what none can be', () => {
    expect(cursorProblem('cursor', 'orders#k-1\t\u{1F600}')).toBeUndefined();
    expect(cursorProblem('cursor', 'é'.repeat(1024))).toBeUndefined();
    expect(cursorProblem('cursor', 'é'.repeat(1025))?.message).toContain('2050 bytes');
    expect(cursorProblem('cursor', 'a\u0000')?.field).toBe('cursor');
  });
});
