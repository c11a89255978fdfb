import type { WorkerMessage } from './message.js';
import type { Reason } from './reasons.js';

/**
 * MESSAGE_SCHEMA's port: checks one body before its key is claimed; a Reason makes the message a
 * permanent failure (INVALID_JSON, SCHEMA_VIOLATION), undefined lets it through. Built outside
 * core/ (handlers/message-schema.ts reads the schema file and compiles it with Ajv).
 */
export type BodyCheck = (message: WorkerMessage) => Reason | undefined;
