import { awsSettings } from '../../src/aws/connect.js';
import { loadConfig } from '../../src/config/load.js';
import { commandEnvironment } from '../../src/cli/run.js';

/**
 * Issue 21, item 6: the CLI in a second terminal finds a worker that `npm start` started, with no
 * environment in either terminal: the daemon's emulators listen on 127.0.0.1 at
 * EMBEDDED_SQS_PORT / EMBEDDED_DYNAMODB_PORT (src/aws/embedded.ts), and a command with no
 * SQS_QUEUE_URL sends its requests there, to the queue and table of the same names. (Checked by
 * hand too: `start` and `produce` both with `env -i`; a test cannot take the fixed default ports
 * 9324 and 8000 on a machine that runs other suites at once.)
 */
describe('a second terminal with no environment reaches `npm start` with none', () => {
  const daemon = loadConfig(commandEnvironment({}, 'start'));

  it.each(['produce', 'consume', 'records show', 'queue stats', 'dlq redrive'])(
    '%s talks to the ports, queue and table the daemon opens',
    (command) => {
      const client = loadConfig(commandEnvironment({}, command));
      const settings = awsSettings(client);
      expect(daemon.embedded.sqsPort).toBe(9324);
      expect(daemon.embedded.dynamodbPort).toBe(8000);
      expect(settings.sqsEndpoint).toBe(`http://127.0.0.1:${daemon.embedded.sqsPort}`);
      expect(settings.dynamodbEndpoint).toBe(`http://127.0.0.1:${daemon.embedded.dynamodbPort}`);
      expect(client.embedded.queueName).toBe(daemon.embedded.queueName);
      expect(client.idempotency.table).toBe(daemon.idempotency.table);
    },
  );
});
