#!/usr/bin/env node
// fauxqs (the SQS emulator, a dev dependency) as a process of its own, on loopback and in memory:
// for running an installed `sqs-worker` against SQS outside its process (scripts/pack-test.mjs).
//
//   node scripts/fauxqs-server.mjs [port]     (default 0: a free port; needs Node >= 22.5)
//
// Prints one JSON line {"sqsEndpoint": "http://127.0.0.1:<port>"} once it listens; stops on
// SIGTERM or SIGINT. Queue URLs name the host sqs.<region>.localhost, which does not resolve:
// clients need the endpoint (AWS_ENDPOINT_URL_SQS).
import { buildApp } from 'fauxqs';

const port = Number(process.argv[2] ?? 0);
const app = buildApp({ logger: false, host: 'localhost' });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await app.listen({ port, host: '127.0.0.1' });
if (stopping) await app.close(); // a signal came while it started
process.stdout.write(`${JSON.stringify({ sqsEndpoint: `http://127.0.0.1:${app.server.address().port}` })}\n`);
