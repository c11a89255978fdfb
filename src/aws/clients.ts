import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Timeouts and retries of every AWS call (AWS_CONNECT_TIMEOUT and friends). */
export interface AwsCallSettings {
  /** Longest wait for a TCP (and TLS) connection. */
  readonly connectTimeoutMs: number;
  /** Longest wait for the answer to one SQS request; a long poll gets its wait time on top. */
  readonly sqsRequestTimeoutMs: number;
  /** Longest wait for the answer to one DynamoDB request. */
  readonly dynamodbRequestTimeoutMs: number;
  /** Attempts per call, first one included (the SDK's standard retry strategy). */
  readonly maxAttempts: number;
}

/** The config's defaults, for clients made without a config (tests, tools). */
export const DEFAULT_AWS_CALLS: AwsCallSettings = {
  connectTimeoutMs: 2000,
  sqsRequestTimeoutMs: 5000,
  dynamodbRequestTimeoutMs: 3000,
  maxAttempts: 3,
};

export interface AwsSettings {
  readonly region: string;
  readonly sqsEndpoint: string | undefined;
  readonly dynamodbEndpoint: string | undefined;
  /** Fixed credentials (embedded emulators accept any); otherwise the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Default: DEFAULT_AWS_CALLS. */
  readonly awsCalls?: AwsCallSettings | undefined;
  /** MAX_IN_FLIGHT: sizes the connection pools (see poolSize). Default 50. */
  readonly maxInFlight?: number | undefined;
}

/** SQS's longest long poll, used when a ReceiveMessage body does not say its wait. */
const MAX_WAIT_SECONDS = 20;

/**
 * Sockets per client: one per message in flight (each has at most one SQS call and one DynamoDB
 * call outstanding: claim, heartbeat, settle) plus room for what runs beside the messages (the
 * long poll, queue-depth reads, table checks, GET /records).
 */
export function poolSize(maxInFlight: number): number {
  return maxInFlight + 10;
}

/**
 * Credentials come from the SDK's default chain (environment, profile, web identity, container
 * and instance roles). With an explicit endpoint (ElasticMQ, fauxqs) requests go there rather than
 * to the host in the queue URL, which emulators often make unresolvable.
 *
 * Every request has a deadline: AWS_CONNECT_TIMEOUT to connect, then SQS_REQUEST_TIMEOUT for the
 * answer; a ReceiveMessage gets its long-poll wait on top, and is not retried by the SDK when it
 * times out (the receive loop retries it, with its own backoff, and readiness counts the failure).
 */
export function createSqsClient(settings: AwsSettings): SQSClient {
  const calls = settings.awsCalls ?? DEFAULT_AWS_CALLS;
  return withoutSdkLogging(
    new SQSClient({
      region: settings.region,
      maxAttempts: calls.maxAttempts,
      requestHandler: new SqsRequestHandler(calls, poolSize(settings.maxInFlight ?? 50)),
      // Spreads: the SDK's config types take no undefined, and it merges config over defaults.
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      ...(settings.sqsEndpoint
        ? { endpoint: parsedEndpoint(settings.sqsEndpoint), useQueueUrlAsEndpoint: false }
        : {}),
    }),
  );
}

/**
 * Throttling, 5xx, refused connections and timeouts are retried by the SDK's standard retry
 * strategy (AWS_MAX_ATTEMPTS attempts, jittered backoff); each attempt has AWS_CONNECT_TIMEOUT to
 * connect and DYNAMODB_REQUEST_TIMEOUT for the answer. What still fails reaches the store as an
 * error, which it reports as StoreUnavailableError.
 */
export function createDynamoClient(settings: AwsSettings): DynamoDBClient {
  const calls = settings.awsCalls ?? DEFAULT_AWS_CALLS;
  return withoutSdkLogging(
    new DynamoDBClient({
      region: settings.region,
      maxAttempts: calls.maxAttempts,
      requestHandler: new NodeHttpHandler({
        ...handlerOptions(calls.connectTimeoutMs, poolSize(settings.maxInFlight ?? 50)),
        requestTimeout: calls.dynamodbRequestTimeoutMs,
      }),
      // Spreads: the SDK's config types take no undefined, and it merges config over defaults.
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      ...(settings.dynamodbEndpoint ? { endpoint: parsedEndpoint(settings.dynamodbEndpoint) } : {}),
    }),
  );
}

/** The SDK's endpoint shape (`Endpoint` of @smithy/types). */
export interface ParsedEndpoint {
  readonly protocol: string;
  readonly hostname: string;
  readonly path: string;
  readonly port?: number;
  readonly query?: Record<string, string>;
}

/**
 * An explicit endpoint, parsed once. Given as a string, the SDK parses it again (`new URL`) on
 * every call; as an already parsed endpoint it is used as it is.
 */
export function parsedEndpoint(url: string): ParsedEndpoint {
  const parsed = new URL(url);
  const query = Object.fromEntries(parsed.searchParams);
  return {
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    path: parsed.pathname,
    // Spreads: the SDK's Endpoint type takes no undefined port or query.
    ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
    ...(Object.keys(query).length === 0 ? {} : { query }),
  };
}

/** The name of the SDK's logging middleware (@aws-sdk/core), which every client gets. */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/**
 * Removes the SDK's logging middleware. It runs on every call and, even with the SDK's default
 * no-op logger, first builds a copy of the input and the output with sensitive members masked
 * (`schemaLogFilter`, walking each schema): about 2.5 % of the worker's CPU, for a line nobody
 * receives. These clients are given no logger, and the worker logs what it needs itself.
 */
function withoutSdkLogging<T extends SQSClient | DynamoDBClient>(client: T): T {
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}

/**
 * `requestTimeout` runs from the request until the response headers arrive, and rejects with a
 * TimeoutError (without throwOnRequestTimeout the SDK only logs a warning and waits on).
 */
function handlerOptions(connectTimeoutMs: number, maxSockets: number) {
  const agent = { keepAlive: true, maxSockets };
  return {
    connectionTimeout: connectTimeoutMs,
    throwOnRequestTimeout: true,
    httpAgent: new Agent(agent),
    httpsAgent: new HttpsAgent(agent),
  };
}

/** A ReceiveMessage that got no answer within its wait time plus SQS_REQUEST_TIMEOUT. */
export class LongPollTimeoutError extends Error {
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(`ReceiveMessage got no answer on its socket within ${timeoutMs} ms`, options);
    // Not TimeoutError, and the cause is dropped below: the SDK would retry that, holding the
    // failure back from the receive loop (and readiness) for another long poll.
    this.name = 'LongPollTimeoutError';
  }
}

type Request = Parameters<NodeHttpHandler['handle']>[0];
type HttpHandlerOptions = NonNullable<Parameters<NodeHttpHandler['handle']>[1]>;

/** NodeHttpHandler with SQS_REQUEST_TIMEOUT, stretched by the wait of a long poll. */
class SqsRequestHandler extends NodeHttpHandler {
  readonly #requestTimeoutMs: number;

  constructor(calls: AwsCallSettings, maxSockets: number) {
    super({
      ...handlerOptions(calls.connectTimeoutMs, maxSockets),
      requestTimeout: calls.sqsRequestTimeoutMs,
    });
    this.#requestTimeoutMs = calls.sqsRequestTimeoutMs;
  }

  override async handle(request: Request, options: HttpHandlerOptions = {}) {
    const waitSeconds = longPollWait(request);
    if (waitSeconds === undefined || options.requestTimeout !== undefined) {
      return super.handle(request, options);
    }
    const requestTimeout = waitSeconds * 1000 + this.#requestTimeoutMs;
    try {
      return await super.handle(request, { ...options, requestTimeout });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError')
        throw new LongPollTimeoutError(requestTimeout);
      throw error;
    }
  }
}

const utf8 = new TextDecoder();

/** The wait of a ReceiveMessage request (AWS JSON protocol), or undefined for any other call. */
function longPollWait(request: Request): number | undefined {
  const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'];
  if (target !== 'AmazonSQS.ReceiveMessage') return undefined;
  try {
    const { body: raw } = request as { body: unknown };
    const text = raw instanceof Uint8Array ? utf8.decode(raw) : String(raw);
    const body = JSON.parse(text) as { WaitTimeSeconds?: unknown };
    return typeof body.WaitTimeSeconds === 'number' ? body.WaitTimeSeconds : MAX_WAIT_SECONDS;
  } catch {
    return MAX_WAIT_SECONDS;
  }
}
