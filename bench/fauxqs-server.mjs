// fauxqs (SQS) as a process of its own, in memory, on a free loopback port (the bench harness
// starts it). Prints one JSON line {"port": N} once it listens; stops on SIGTERM or SIGINT.
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false, host: 'localhost' });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : null })}\n`);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The harness going away (its stdout pipe closing) stops us too.
process.stdout.on('error', stop);
