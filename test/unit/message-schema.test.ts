import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { loadBodyCheck } from '../../src/handlers/message-schema.js';
import { message } from '../helpers/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'schema-'));
function schemaFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('MESSAGE_SCHEMA body check', () => {
  const check = loadBodyCheck(
    schemaFile(
      'order.json',
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        required: ['orderId'],
        properties: { orderId: { type: 'integer' }, email: { type: 'string', format: 'email' } },
      }),
    ),
  );

  it('accepts a valid body', () => {
    expect(check(message('k', { orderId: 7, email: 'a@example.com' }))).toBeUndefined();
  });

  it('rejects a body that is not JSON', () => {
    expect(check(message('k', 'plain text'))).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('rejects a body that breaks the schema, saying where', () => {
    expect(check(message('k', { orderId: 'seven' }))).toEqual({
      code: 'SCHEMA_VIOLATION',
      message: '/orderId must be integer',
    });
    expect(check(message('k', { orderId: 1, email: 'nope' }))?.message).toContain('/email');
  });

  it('stops start-up on an unreadable or invalid schema', () => {
    expect(() => loadBodyCheck(join(dir, 'missing.json'))).toThrow(ConfigError);
    expect(() => loadBodyCheck(schemaFile('bad.json', '{"type": 12}'))).toThrow(/invalid schema/);
  });
});
