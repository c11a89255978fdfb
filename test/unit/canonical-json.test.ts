import fc from 'fast-check';
import { MAX_JSON_DEPTH, canonicalJson } from '../../src/core/canonical-json.js';
import { hashBody, payloadHash } from '../../src/core/idempotency.js';

/**
 * Golden vectors: body as sent → payload hash. The expected hashes were computed apart from this
 * code (Python's hashlib over the canonical form written by hand, shown in the middle column), so
 * a change to the canonical form or the hash input shows here before it reaches stored records.
 */
const GOLDEN: readonly (readonly [body: string, form: string, hash: string])[] = [
  [
    '{"id":9007199254740993}',
    'json:{"id":9007199254740993}',
    'v2:efea6125b59699c597a7cfd2ca9d60156e8ac4465f5b496e883e742c3af84b4d',
  ],
  [
    '{"id":9007199254740992}',
    'json:{"id":9007199254740992}',
    'v2:c8e3fb53db96e819b5e6afc3721c9bffe4d7ac7ee8fe184c7d5fd0c5434256d4',
  ],
  [
    '{"amount":0.10000000000000000001}',
    'json:{"amount":0.10000000000000000001}',
    'v2:81810d560a17951c1abc9ae1557ebd24376358f89ff8d3897e0ab55be3169af9',
  ],
  ['"hello"', 'json:"hello"', 'v2:7e84af1324ce8d7a4fd858eeb9946e34f0f1931e1db0c05c329fa1e2a79a175b'],
  ['hello', 'text:hello', 'v2:eadf732aba96d643feaa39909a300bc8a25b15fabdf41bf20819b8ce8fd3746f'],
  [
    ' { "b" : [ 1.50 , "\\u0078" ] , "a" : 1e2 } ',
    'json:{"a":1e2,"b":[1.50,"x"]}',
    'v2:1cfd70719880e0281b7094d1147c0f1c4ab8bc06b74a19f638cdb920632433bb',
  ],
  ['{"a":1,"a":2}', 'json:{"a":2}', 'v2:603a8d071a563462b4b1d831a0ab09f83eb52ba0473937b28a48da5b23bc2d2d'],
  [
    '{"\\u00e9":"\\ud83d\\ude00","B":"\\/\\t","a":null}',
    'json:{"B":"/\\t","a":null,"é":"😀"}',
    'v2:47b1bda6c687efb3345922bce168ba1225ca9ac0befd37622a0b95373cabf26b',
  ],
  // UTF-16 code unit order: the surrogate pair of U+1F600 (0xD83D...) sorts before U+FFFF.
  [
    '{"\\uffff":1,"😀":2}',
    'json:{"😀":2,"\uffff":1}',
    'v2:d8671bf29628bdc15ff640e274494dbfcba2b961b3392c139845c09b8cfedb20',
  ],
  [
    '["\\uD800","\\u0000\\u001F","\\"\\\\"]',
    'json:["\\ud800","\\u0000\\u001f","\\"\\\\"]',
    'v2:aa12a78f85839ff1801be3af47eb122362c6f08535cfc8bff86169afe53934c5',
  ],
  ['', 'text:', 'v2:1658fae457c16fc18f3f2d8e1c2a5b3e06ec32cf5d72e42e1d894f86cd996221'],
  ['{"a":1', 'text:{"a":1', 'v2:91013361ba099528ad4315003b86a7098ab996dbcf0beae38a3f8a9da10fe3a7'],
];

describe('payload hash v2 (golden vectors)', () => {
  it.each(GOLDEN)('%j hashes as %j', (body, form, hash) => {
    const read = canonicalJson(body);
    expect(read.kind === 'json' ? `json:${read.canonical}` : `text:${body}`).toBe(form);
    expect(payloadHash(body)).toBe(hash);
  });

  it('keeps apart what the previous hash confused', () => {
    expect(payloadHash('{"id":9007199254740993}')).not.toBe(payloadHash('{"id":9007199254740992}'));
    expect(payloadHash('{"x":1.00000000000000000001}')).not.toBe(payloadHash('{"x":1}'));
    expect(payloadHash('"hello"')).not.toBe(payloadHash('hello'));
  });
});

describe('canonicalJson', () => {
  it.each([
    ['1', '1'],
    ['-0.0e-0', '-0.0e-0'],
    ['[]', '[]'],
    ['{}', '{}'],
    [' [ [ ] , { } , [ { } ] ] ', '[[],{},[{}]]'],
    ['{"b":{"d":1,"c":[true,false,null]},"a":"\\n"}', '{"a":"\\n","b":{"c":[true,false,null],"d":1}}'],
    ['{"__proto__":1,"constructor":2}', '{"__proto__":1,"constructor":2}'],
    ['"\u2028"', '"\u2028"'],
  ])('%j → %j', (source, canonical) => {
    expect(canonicalJson(source)).toEqual({ kind: 'json', canonical });
  });

  it.each([
    '',
    ' ',
    '01',
    '1.',
    '.5',
    '+1',
    '1e',
    '-',
    'NaN',
    'Infinity',
    '[1,]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    '"\t"',
    '"\\x41"',
    '"\\u12"',
    '[1] x',
    'truex',
    '\ufeff1',
    '"abc',
    '[',
    ']',
    '{"a" 1}',
  ])('%j is not JSON', (source) => {
    expect(canonicalJson(source)).toEqual({ kind: 'text' });
    expect(() => JSON.parse(source) as unknown).toThrow();
  });

  it(`reads ${MAX_JSON_DEPTH} levels, refuses one more, and never overflows the stack`, () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(canonicalJson(nest(MAX_JSON_DEPTH)).kind).toBe('json');
    expect(canonicalJson(nest(MAX_JSON_DEPTH + 1))).toEqual({ kind: 'too_deep', depth: MAX_JSON_DEPTH + 1 });
    expect(canonicalJson(nest(200_000))).toEqual({ kind: 'too_deep', depth: MAX_JSON_DEPTH + 1 });
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect(canonicalJson(objects).kind).toBe('too_deep');
    // Too deep but not JSON after all: raw text, which is hashed like any text.
    expect(canonicalJson(`${'['.repeat(100_000)}x`)).toEqual({ kind: 'text' });
    expect(hashBody(nest(MAX_JSON_DEPTH + 1))).toEqual({
      invalid: expect.objectContaining({ code: 'BODY_TOO_DEEP' }),
    });
  });

  it('agrees with JSON.parse on what is JSON (random and mutated texts)', () => {
    const mutated = fc.tuple(fc.json(), fc.nat(), fc.string({ maxLength: 3 })).map(([json, at, insert]) => {
      const i = at % (json.length + 1);
      return json.slice(0, i) + insert + json.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(fc.json(), mutated, fc.string()), (source) => {
        let parsed = true;
        try {
          JSON.parse(source);
        } catch {
          parsed = false;
        }
        expect(canonicalJson(source).kind === 'json').toBe(parsed);
      }),
      { seed: 1212, numRuns: 2000 },
    );
  });

  it('is the same for any spacing and key order of a value, and parses back to that value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const compact = JSON.stringify(value);
        const spaced = JSON.stringify(value, null, 2);
        const read = canonicalJson(compact);
        expect(read).toEqual(canonicalJson(spaced));
        if (read.kind !== 'json') throw new Error('not read as JSON');
        expect(JSON.parse(read.canonical)).toEqual(value);
        expect(canonicalJson(reversedKeys(compact))).toEqual(read);
      }),
      { seed: 1212, numRuns: 500 },
    );
  });
});

/** The same JSON with every object's members in reverse order. */
function reversedKeys(json: string): string {
  const reverse = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reverse);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reverse(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(reverse(JSON.parse(json)));
}
