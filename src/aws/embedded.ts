import type { AddressInfo } from 'node:net';
import type * as FauxqsTypes from 'fauxqs';
import { EmbeddedUnavailableError, describeError } from '../core/errors.js';
import { acceptQueryProtocol } from './sqs-query-adapter.js';

type FauxqsModule = typeof FauxqsTypes;

export interface EmbeddedEmulators {
  readonly sqsEndpoint: string;
  readonly dynamodbEndpoint: string;
  stop(): Promise<void>;
}

interface DynaliteServer {
  listen(port: number, host: string, done: (error?: Error) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  address(): AddressInfo | string | null;
  close(done: () => void): void;
}

/**
 * Starts fauxqs (SQS) and dynalite (DynamoDB) in this process, on loopback, in memory. They are
 * dev dependencies, imported only here: a production install reaching this gets a clear error.
 */
export async function startEmulators(
  ports: { sqs: number; dynamodb: number },
  /** Package names; only tests change them, to see what a production install says. */
  packages = { fauxqs: 'fauxqs', dynalite: 'dynalite' },
): Promise<EmbeddedEmulators> {
  const fauxqs = await load<FauxqsModule>(packages.fauxqs);
  const dynaliteModule = await load<{ default: (options: object) => DynaliteServer }>(packages.dynalite);

  const dynalite = dynaliteModule.default({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynalite.on('error', (error) => reject(portError('EMBEDDED_DYNAMODB_PORT', ports.dynamodb, error)));
    dynalite.listen(ports.dynamodb, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
  });
  const dynamoAddress = dynalite.address() as AddressInfo;

  // buildApp + our own listen() keeps the emulator on loopback (startFauxqs binds 0.0.0.0).
  // Queue URLs name the host sqs.<region>.localhost, which clients never resolve: they are given
  // the endpoint explicitly.
  const sqs = fauxqs.buildApp({ logger: false, host: 'localhost' });
  // fauxqs speaks only SQS's JSON protocol; clients on the query protocol (Debian's awscli and
  // boto3, the Java SDK 1.x) are translated on the same port.
  acceptQueryProtocol(sqs);
  let sqsPort: number;
  try {
    await sqs.listen({ port: ports.sqs, host: '127.0.0.1' });
    sqsPort = (sqs.server.address() as AddressInfo).port;
  } catch (error) {
    await new Promise<void>((resolve) => dynalite.close(() => resolve()));
    throw portError('EMBEDDED_SQS_PORT', ports.sqs, error);
  }
  return {
    sqsEndpoint: `http://127.0.0.1:${sqsPort}`,
    dynamodbEndpoint: `http://127.0.0.1:${dynamoAddress.port}`,
    async stop() {
      await sqs.close();
      await new Promise<void>((resolve) => dynalite.close(() => resolve()));
    },
  };
}

async function load<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw new EmbeddedUnavailableError(
      `embedded mode needs the dev dependency ${name}, which is not installed (${describeError(error)}). ` +
        'Set SQS_QUEUE_URL to consume a real queue, or install dev dependencies (npm ci).',
      { cause: error },
    );
  }
}

function portError(variable: string, port: number, error: unknown): Error {
  const text = describeError(error);
  if (/EADDRINUSE/.test(text)) {
    return new EmbeddedUnavailableError(
      `embedded mode: port ${port} is in use; set ${variable} to a free port (0 picks one)`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(text);
}
