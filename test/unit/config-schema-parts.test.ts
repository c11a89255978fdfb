import { describe, expect, it } from '@jest/globals';
import { awsFields } from '../../src/config/schema-aws.js';
import { dynamodbFields } from '../../src/config/schema-dynamodb.js';
import { handlerFields } from '../../src/config/schema-handler.js';
import { httpFields } from '../../src/config/schema-http.js';
import { observabilityFields } from '../../src/config/schema-observability.js';
import { sqsFields } from '../../src/config/schema-sqs.js';
import { workerFields } from '../../src/config/schema-worker.js';
import { fieldVariables } from '../../src/config/variables.js';

/** schema.ts spells out the order of the fields; a field written in a concern's file but left out there would be no setting at all. */
describe('config schema parts', () => {
  const parts = [
    awsFields,
    dynamodbFields,
    handlerFields,
    httpFields,
    observabilityFields,
    sqsFields,
    workerFields,
  ];

  it('every field of every concern is in the schema, and each in one concern only', () => {
    const written = parts.flatMap((part) => Object.keys(part));
    const inSchema = new Set(fieldVariables.map((variable) => variable.path[0]));
    expect(new Set(written).size).toBe(written.length);
    expect([...written].sort()).toEqual([...inSchema].sort());
  });
});
