// node --expose-gc [--max-semi-space-size=16] bench/module-rss.mjs ours|peer [--by-module]
//
// Memory of a process that has only loaded a system's modules (no queue, no load): RSS and V8's
// heap after a full GC. What a system costs before its first message; the bench's peak RSS adds
// the young generation and what the load allocates on top of it. With --by-module, ours' loads
// its modules one group at a time and prints what each group added (the first to load a shared
// dependency is charged with it).
import { fileURLToPath } from 'node:url';

const which = process.argv[2] ?? 'ours';
const byModule = process.argv.includes('--by-module');
const root = fileURLToPath(new URL('..', import.meta.url));
const mb = (n) => Math.round((n / 1048576) * 10) / 10;
let last;
function show(label) {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const now = { rss: mb(m.rss), heapUsed: mb(m.heapUsed), external: mb(m.external) };
  const added = last ? ` (+${mb(m.rss - last)} MB RSS)` : '';
  last = m.rss;
  console.log(`${which} ${label}: ${JSON.stringify(now)}${added}`);
}

show('bare node');
if (which === 'peer') {
  await import('sqs-consumer');
  await import('@aws-lambda-powertools/idempotency');
  await import('@aws-lambda-powertools/idempotency/dynamodb');
  await import(`${root}dist/aws/clients.js`);
  show('sqs-consumer, Powertools idempotency + DynamoDB layer, the clients');
} else if (byModule) {
  const groups = [
    ['the AWS clients', ['dist/aws/clients.js']],
    ['sqs-consumer and the worker', ['dist/aws/sqs-consumer-poller.js', 'dist/worker/runtime.js']],
    ['the DynamoDB store', ['dist/aws/dynamodb-store.js', 'dist/aws/dynamodb-batch.js']],
    ['observability (pino, prom-client)', ['dist/observability/observe.js']],
    ['the HTTP sidecar (Fastify, status page)', ['dist/http/server.js']],
    ['the rest of app.js', ['dist/app/app.js']],
  ];
  for (const [label, files] of groups) {
    for (const file of files)
      await import(`${root}${file}`).catch((e) => console.log(`  (${file}: ${e.message})`));
    show(label);
  }
} else {
  await import(`${root}dist/app/app.js`);
  show('app.js (everything `start` loads)');
}
