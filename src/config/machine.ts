import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { ConfigError } from '../core/errors.js';
import type { Config } from './schema.js';

/**
 * The configuration checked against this machine, before anything starts: the sidecar's host
 * resolves to an address here, and the ports the process will listen on are free. loadConfig()
 * checks syntax only; these need the network stack, so start() runs them (docs/operations.md, "Exit codes
 * and signals"). A port taken between this check and the real listen is still reported the same
 * way, by `listenError`.
 */
export async function checkListenAddresses(config: Config): Promise<void> {
  const { host, port } = config.http;
  await resolvable(host);
  await free('HTTP_PORT', host, port, 'HTTP_HOST');
  if (config.queueUrl === undefined) await checkEmbeddedPorts(config);
}

/** The embedded emulators' ports are free (start and `sqs-worker emulators` both listen there). */
export async function checkEmbeddedPorts(config: Pick<Config, 'embedded'>): Promise<void> {
  await free('EMBEDDED_SQS_PORT', '127.0.0.1', config.embedded.sqsPort);
  await free('EMBEDDED_DYNAMODB_PORT', '127.0.0.1', config.embedded.dynamodbPort);
}

/**
 * What a failed listen of the sidecar means in the configuration's terms: a ConfigError naming
 * HTTP_HOST or HTTP_PORT and the rule, or undefined when it is not a configuration problem.
 */
export function listenError(error: unknown, config: Pick<Config, 'http'>): ConfigError | undefined {
  return addressError(error, {
    variable: 'HTTP_PORT',
    host: config.http.host,
    port: config.http.port,
    hostVariable: 'HTTP_HOST',
  });
}

const HOST_RULE = 'a host name or an address of this machine';

async function resolvable(host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    throw new ConfigError(
      'HTTP_HOST',
      `HTTP_HOST=${JSON.stringify(host)} does not resolve (${codeOf(error) ?? 'lookup failed'}): must be ${HOST_RULE}`,
      { cause: error },
    );
  }
}

interface Address {
  /** The variable that sets the port. */
  readonly variable: string;
  readonly host: string;
  readonly port: number;
  /** The variable that sets the host, when one does (the emulators' is always loopback). */
  readonly hostVariable?: string;
}

/**
 * Listens on host:port and closes again at once. Port 0 (any free port) is checked only when
 * the host is configurable: binding it tells whether the host is an address of this machine.
 */
async function free(variable: string, host: string, port: number, hostVariable?: string): Promise<void> {
  if (port === 0 && hostVariable === undefined) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw addressError(error, { variable, host, port, ...(hostVariable ? { hostVariable } : {}) }) ?? error;
  } finally {
    if (probe.listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

function addressError(error: unknown, address: Address): ConfigError | undefined {
  const { variable, host, port, hostVariable } = address;
  const code = codeOf(error);
  const where = `${host}:${port}`;
  const options = { cause: error };
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        variable,
        `${variable}=${port}: the port is in use on ${host} (EADDRINUSE): must be a free port (0 picks one)`,
        options,
      );
    case 'EACCES':
      return new ConfigError(
        variable,
        `${variable}=${port}: not allowed to listen on ${where} (EACCES): must be a port this user may open (1024 or above without privileges)`,
        options,
      );
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      if (hostVariable === undefined) return undefined;
      return new ConfigError(
        hostVariable,
        `${hostVariable}=${JSON.stringify(host)} is not an address of this machine (${code}): must be ${HOST_RULE}`,
        options,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      if (hostVariable === undefined) return undefined;
      return new ConfigError(
        hostVariable,
        `${hostVariable}=${JSON.stringify(host)} does not resolve (${code}): must be ${HOST_RULE}`,
        options,
      );
    default:
      return undefined;
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
