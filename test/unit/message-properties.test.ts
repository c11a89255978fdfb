import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { Handler } from '../../src/core/handler.js';
import type { MessageAttribute, MessageAttributes } from '../../src/core/queue.js';
import { REASON_CODES } from '../../src/core/reasons.js';
import { twin, until } from '../helpers/runtime-twin.js';

/**
 * Property: whatever bodies and attributes producers send (random, hostile: deep nesting, huge
 * numbers, escapes of forbidden characters, binary and odd attribute types, long keys), every
 * message the queue accepts ends completed, a duplicate, or in the dead-letter queue with one of
 * our reason codes, at once; never a crash, a hang (virtual time is bounded), a message left
 * behind, nor one moved by SQS's redrive (which would mean it was retried until it gave up).
 * Fixed seed, bounded runs: `npm test` runs it like any other unit test.
 */

const SEED = 20_261_125;

const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const nested = fc
  .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([depth, open, closed]) => {
    const close = open === '[' ? ']' : '}';
    return `${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`;
  });

const hugeNumber = fc
  .tuple(
    fc.stringMatching(/^-?[1-9][0-9]{15,400}$/),
    fc.stringMatching(/^(\.[0-9]{1,60})?([eE][+-]?[0-9]{1,5})?$/),
  )
  .map(([int, rest]) => `{"id":${int}${rest}}`);

/** JSON escapes of characters SQS forbids raw: they pass SQS and decode to them. */
const escapes = fc
  .array(fc.constantFrom('\\u0000', '\\u0001', '\\ufffe', '\\uffff', '\\ud800', '\\udfff', '\\u001f'), {
    minLength: 1,
    maxLength: 5,
  })
  .map((parts) => `{"${parts.join('')}":"${parts.reverse().join('')}"}`);

const body = fc.oneof(
  fc.json(),
  fc.string({ minLength: 1, maxLength: 200 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
  nested,
  hugeNumber,
  escapes,
  fc.jsonValue().map((v) => JSON.stringify(JSON.stringify(v))),
  fc.constantFrom('"hello"', 'hello', ' ', '[]', '{}', '-0', '1e999', '"\\uD83D\\uDE00"', '{"__proto__":{}}'),
);

const keyAttribute: fc.Arbitrary<MessageAttribute | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.string({ minLength: 1, maxLength: 30 }).map((v) => ({ dataType: 'String', stringValue: v })),
  fc.constantFrom('k-1', 'k-2').map((v) => ({ dataType: 'String', stringValue: v })),
  fc
    .tuple(fc.integer({ min: 1000, max: 6000 }), fc.constantFrom('x', 'é', '😀'))
    .map(([n, c]) => ({ dataType: 'String', stringValue: c.repeat(n) })),
  fc.integer().map((n) => ({ dataType: 'Number', stringValue: String(n) })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ dataType: 'Binary', binaryValue: b })),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => ({ dataType: 'Binary.raw', binaryValue: b })),
  fc.string({ minLength: 1, maxLength: 10 }).map((v) => ({ dataType: 'String.custom', stringValue: v })),
);

const otherAttributes: fc.Arbitrary<MessageAttributes> = fc.dictionary(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/).filter((n) => n !== 'IdempotencyKey'),
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 20 }).map((v) => ({ dataType: 'String', stringValue: v })),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => ({ dataType: 'Binary', binaryValue: b })),
  ),
  { maxKeys: 4 },
);

const message = fc.record({ body, key: keyAttribute, others: otherAttributes });

/** A handler that walks the body the way handlers do, so a body too deep to walk would crash it. */
const walking: Handler = (m) => {
  JSON.stringify(m.body);
  const depth = (v: unknown): number =>
    v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0;
  return { depth: depth(m.body) };
};

describe('message parsing under random and hostile input (property)', () => {
  it('every accepted message ends completed, duplicate or dead-lettered with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (messages) => {
        const t = twin(walking, { maxReceiveCount: 3 });
        let accepted = 0;
        for (const m of messages) {
          const attributes = { ...m.others, ...(m.key ? { IdempotencyKey: m.key } : {}) };
          try {
            await t.queue.send({ body: m.body, attributes });
            accepted += 1;
          } catch {
            // Refused by the queue as SQS would refuse it (forbidden characters, size): the
            // producer learns at once; nothing reaches the worker.
          }
        }
        await t.runtime.start();
        try {
          await until(() => t.settled.length >= accepted, 'every message settled', 120_000);
        } finally {
          await t.runtime.stop(1000);
        }
        const outcomes = t.settled.map((e) => ({
          outcome: e.processed.outcome,
          reason: e.processed.reason?.code,
        }));
        for (const o of outcomes) {
          expect(['success', 'duplicate', 'dead_lettered', 'payload_mismatch']).toContain(o.outcome);
        }
        expect(t.settled).toHaveLength(accepted);
        const dead = t.dlq.peek();
        expect(dead).toHaveLength(outcomes.filter((o) => o.reason !== undefined).length);
        for (const d of dead) {
          const code = d.attributes.DeadLetterReason?.stringValue;
          expect(REASON_CODES).toContain(code);
          expect(code).not.toBe('SQS_REDRIVE');
          // Every attribute value in characters SQS accepts (the twin does not check them).
          const texts = Object.values(d.attributes).flatMap((a) => a.stringValue ?? []);
          for (const text of texts) expect(text).toMatch(SQS_TEXT);
        }
        expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});
