import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import type { SeedAccess } from '../../src/http/access.js';
import type { SeedRequest } from '../../src/seeding/seed.js';
import { TOKEN, sidecarDeps } from '../helpers/sidecar.js';

/**
 * Random and hostile input for POST /seed and GET /records, through inject(): every answer is a
 * 2xx for valid input or a 4xx with a JSON error body (naming the field on 400), never a 5xx, a
 * crash or a hang. Fixed seeds and bounded runs, so the suite is quick and repeatable; a failure
 * prints its seed and path for fast-check to replay.
 */

const RUNS = { seed: 42, numRuns: 200 } as const;
// A rate limit no property reaches: 429s would hide what the routes do with the input.
const ACCESS: SeedAccess = { token: undefined, ratePerMinute: 1_000_000 };
const TOKEN_ACCESS: SeedAccess = { token: TOKEN, ratePerMinute: 1_000_000 };
/** Outside SQS's allowed set: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. */
const SQS_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Every character class SQS refuses, and a few it takes that parsers trip on. */
const HOSTILE_CHARS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\ufffe',
  '\uffff',
  '\u{1F600}',
  '\u2028',
  '\ufeff',
  '"',
  '\\',
  '%',
  '&',
  '=',
  '#',
  '.',
  '..',
  'AWS.',
  'amazon.',
  '__proto__',
  'constructor',
];

/** Strings built from plain text and hostile characters. */
const hostileString = (maxLength = 40) =>
  fc
    .array(
      fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(...HOSTILE_CHARS),
        fc.string({ unit: 'binary', maxLength: 4 }),
      ),
      {
        maxLength,
      },
    )
    .map((parts) => parts.join(''));

/** Numbers JSON.parse and Ajv may treat unexpectedly, as JSON text. */
const oddNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '9007199254740993',
  '1e21',
  '1.0',
  '1e0',
  '-0',
  '0.5',
  '4.9e-324',
  '100000000000000000000000000000',
  '-1',
  '10001',
  '900',
  '901',
);

/** `depth` levels of arrays or objects around a value, as JSON text (no recursion to write it). */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

const jsonText = (value: unknown): string => JSON.stringify(value) ?? 'null';

/** Mostly a valid value (weight 3), sometimes a hostile one. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: hostile, weight: 1 });

const attributeName = mostly(
  fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,20}[A-Za-z0-9_-]$/).filter((n) => !n.includes('..')),
  fc.oneof(
    fc.constantFrom('x.', '.x', 'a..b', 'AWS.x', 'aMaZoN.x', 'a'.repeat(257), 'a b'),
    hostileString(12),
  ),
);

/** A message: mostly valid, each part sometimes hostile. */
const message = fc
  .record(
    {
      body: mostly(
        fc.oneof(fc.string({ minLength: 1 }).map(jsonText), fc.jsonValue({ maxDepth: 4 }).map(jsonText)),
        fc.oneof(hostileString().map(jsonText), deepJson, oddNumber, fc.constant('""'), fc.constant('null')),
      ),
      key: mostly(
        fc.stringMatching(/^[a-z0-9-]{1,20}$/),
        fc.oneof(hostileString(), fc.constant('k'.repeat(300))),
      ).map(jsonText),
      delaySeconds: mostly(
        fc.integer({ min: 0, max: 900 }).map(String),
        fc.oneof(oddNumber, fc.constant('"5"')),
      ),
      attributes: fc
        .dictionary(attributeName, mostly(fc.string({ minLength: 1, maxLength: 20 }), hostileString()), {
          maxKeys: 11,
        })
        .map(jsonText),
      colour: fc.constant('"red"'),
    },
    { requiredKeys: [] },
  )
  .map((m) =>
    m.colour !== undefined && m.body !== undefined && m.key === undefined ? m : { ...m, colour: undefined },
  );

/** A /seed body as JSON text: mostly plausible, with hostile parts, or anything at all. */
const seedBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(message, { minLength: 1, maxLength: 4 })
      .map((ms) => objectText({ messages: `[${ms.map(objectText).join(',')}]` })),
  },
  fc
    .record(
      {
        count: mostly(
          fc.integer({ min: 1, max: 100 }).map(String),
          fc.oneof(oddNumber, fc.constant('"10"'), fc.constant('0')),
        ),
        duplicates: fc.oneof(fc.integer({ min: 0, max: 20 }).map(String), oddNumber),
        groupId: fc.oneof(fc.constant('g'), hostileString()).map(jsonText),
        messages: fc.array(message, { maxLength: 2 }).map((ms) => `[${ms.map(objectText).join(',')}]`),
      },
      { requiredKeys: [] },
    )
    .map(objectText),
  fc.json(),
  fc.string(),
  deepJson,
  hostileString(),
);

/** An object's JSON text from members that are JSON texts already. */
function objectText(members: Record<string, string | undefined>): string {
  const entries = Object.entries(members).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  undefined,
);

/** Query strings with hostile keys and values, percent-encoded or not, well-formed or not. */
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('status', 'limit', 'cursor', 'token', 'status[]', 'limit[0]'),
        hostileString(8),
      ),
      fc.oneof(
        fc.constantFrom(
          'COMPLETED',
          'FAILED',
          'IN_PROGRESS',
          'DONE',
          '5',
          '0',
          '1001',
          '1e3',
          '-1',
          '',
          '%',
          '%zz',
          '%00',
          '%ED%A0%80',
          '%EF%BF%BE',
        ),
        hostileString(),
        fc.constant('x'.repeat(3000)),
      ),
      fc.boolean(),
    ),
    { maxLength: 4 },
  )
  .map((pairs) =>
    pairs.map(([k, v, encode]) => (encode ? `${safeEncode(k)}=${safeEncode(v)}` : `${k}=${v}`)).join('&'),
  );

/** encodeURIComponent, which throws on a lone surrogate: such a string goes as it is. */
function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

interface Sidecar {
  readonly app: FastifyInstance;
  readonly seeded: SeedRequest[];
}

/**
 * The sidecar with a send that does what the real one does with what it is given: writes each
 * body as text (JSON.stringify for objects, which recurses) and fails as SQS does on characters
 * SQS refuses. Input that slips past the routes' checks shows as a 503.
 */
function sidecar(access: SeedAccess = ACCESS): Sidecar {
  const deps = sidecarDeps({}, access);
  const send: typeof deps.seed.send = async (request) => {
    if ('messages' in request) {
      for (const [i, m] of request.messages.entries()) {
        const texts = [typeof m.body === 'string' ? m.body : JSON.stringify(m.body), m.key ?? ''];
        texts.push(...Object.values(m.attributes ?? {}));
        if (texts.some((t) => SQS_FORBIDDEN.test(t))) throw new Error(`Failed to send messages: m${i}`);
      }
    }
    return deps.seed.send(request);
  };
  const app = buildServer({ ...deps, seed: { ...deps.seed, send, keyAttribute: 'IdempotencyKey' } });
  return { app, seeded: deps.seeded };
}

let sidecars: Sidecar[] = [];
function open(access?: SeedAccess): Sidecar {
  const s = sidecar(access);
  sidecars.push(s);
  return s;
}

afterEach(async () => {
  for (const { app } of sidecars) await app.close();
  sidecars = [];
});

/** The property every answer has: no 5xx, a JSON error body on 4xx, a field on 400. */
function expectWellFormed(res: LightMyRequestResponse, request: InjectOptions): void {
  const url = String(request.url);
  const shown = url.length > 200 ? `${url.slice(0, 200)}...` : url;
  const context = `${request.method} ${shown} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect([context, res.statusCode < 500]).toEqual([context, true]);
  if (request.method === 'HEAD') return;
  expect([context, String(res.headers['content-type'])]).toEqual([
    context,
    expect.stringContaining('application/json'),
  ]);
  const body = res.json() as Record<string, unknown>;
  if (res.statusCode >= 400) {
    expect([context, typeof body.error, typeof body.message]).toEqual([context, 'string', 'string']);
  }
  if (res.statusCode === 400) {
    expect([context, typeof body.field, (body.field as string).length > 0]).toEqual([
      context,
      'string',
      true,
    ]);
  }
}

/** What a 202 promises: the queue was given only what SQS takes. */
function expectSendable(request: SeedRequest): void {
  if (!('messages' in request)) return;
  for (const m of request.messages) {
    const body = typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
    expect(SQS_FORBIDDEN.test(body)).toBe(false);
    for (const text of [m.key ?? '', ...Object.values(m.attributes ?? {})])
      expect(SQS_FORBIDDEN.test(text)).toBe(false);
    for (const name of Object.keys(m.attributes ?? {})) {
      expect(name).toMatch(/^(?!\.)(?!.*\.\.)(?!(aws|amazon)\.)[A-Za-z0-9_.-]{1,256}(?<!\.)$/i);
    }
  }
}

describe('POST /seed, property-based', () => {
  it('answers any JSON-ish body with a 2xx or a 4xx naming the field, never a 5xx', async () => {
    const { app, seeded } = open();
    await fc.assert(
      fc.asyncProperty(seedBody, async (payload) => {
        const before = seeded.length;
        const request: InjectOptions = {
          method: 'POST',
          url: '/seed',
          headers: { 'content-type': 'application/json' },
          payload,
        };
        const res = await app.inject(request);
        expectWellFormed(res, request);
        expect(res.statusCode === 202).toBe(seeded.length === before + 1);
        if (res.statusCode === 202) expectSendable(seeded[seeded.length - 1] as SeedRequest);
      }),
      RUNS,
    );
  });

  it('answers odd content types, methods, paths and query strings with a JSON 4xx or a 2xx', async () => {
    const { app } = open(TOKEN_ACCESS);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.constantFrom('/seed', '/records', '/seed/', '/SEED', '/seed/x', '//seed'),
        queryString,
        contentType,
        fc.oneof(seedBody, fc.constant('{"count":1}')),
        fc.constantFrom(`Bearer ${TOKEN}`, 'Bearer wrong-token-0123456789', 'Basic x', undefined),
        async (method, path, query, type, payload, authorization) => {
          const headers: Record<string, string> = {};
          if (type !== undefined) headers['content-type'] = type;
          if (authorization !== undefined) headers.authorization = authorization;
          const request: InjectOptions = {
            method: method as NonNullable<InjectOptions['method']>,
            url: query === '' ? path : `${path}?${query}`,
            headers,
            ...(method === 'GET' || method === 'HEAD' ? {} : { payload }),
          };
          const res = await app.inject(request);
          expectWellFormed(res, request);
          // Only what the README documents for these routes.
          expect([200, 202, 400, 401, 404, 413, 415]).toContain(res.statusCode);
        },
      ),
      RUNS,
    );
  });
});

describe('GET /records, property-based', () => {
  it('answers any query string with a 200 or a 400 naming the field, never a 5xx', async () => {
    const { app } = open();
    await fc.assert(
      fc.asyncProperty(queryString, async (query) => {
        const request: InjectOptions = { method: 'GET', url: `/records?${query}` };
        const res = await app.inject(request);
        expectWellFormed(res, request);
        expect([200, 400]).toContain(res.statusCode);
      }),
      RUNS,
    );
  });
});
