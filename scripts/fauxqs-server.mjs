#!/usr/bin/env node
// fauxqs (the SQS emulator, a dev dependency) as a process of its own, on loopback and in memory:
// for running workers against SQS outside their process (scripts/pack-test.mjs, the chaos suite,
// the bench harness).
//
//   node scripts/fauxqs-server.mjs [port]     (default FAUXQS_PORT, else 0: a free port; Node >= 22.5)
//
// Prints one JSON line {"port": N, "sqsEndpoint": "http://127.0.0.1:N"} once it listens; stops on
// SIGTERM or SIGINT, or when whoever started it goes away (its stdout pipe closes). Queue URLs name
// the host sqs.<region>.localhost, which does not resolve: clients need the endpoint
// (AWS_ENDPOINT_URL_SQS).
import { buildApp } from 'fauxqs';

const port = Number(process.argv[2] ?? process.env.FAUXQS_PORT ?? 0);
const app = buildApp({ logger: false, host: 'localhost' });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.on('error', stop);

await app.listen({ port, host: '127.0.0.1' });
if (stopping) await app.close(); // a signal came while it started
const listening = app.server.address().port;
process.stdout.write(
  `${JSON.stringify({ port: listening, sqsEndpoint: `http://127.0.0.1:${listening}` })}\n`,
);
