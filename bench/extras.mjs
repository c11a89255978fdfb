// The produce measurement and the soak run.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { ROOT, baseEnv, cpuMicros, memoryMb, stop, track, until } from './env.mjs';
import { checkRuns, createTable, runsPerKey, spawnSystem, waitCompleted } from './run-one.mjs';
import { buildMessages, fill } from './workloads.mjs';

/**
 * Wall time of `node dist/main.js produce --count N` against fauxqs, and of `--count 1` (start-up
 * and one send: the CLI refuses a count of 0), which the sending rate leaves out.
 */
export async function measureProduce(ctx, fauxqsPort, count, reps) {
  const walls = [];
  const startups = [];
  let ok = true;
  for (let r = 0; r < reps; r += 1) {
    const { QueueUrl: queueUrl } = await ctx.sqs.send(
      new CreateQueueCommand({ QueueName: `bench-produce-${randomUUID().slice(0, 8)}` }),
    );
    try {
      const env = { SQS_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${fauxqsPort}` };
      const startup = await timeNode(['produce', '--count', '1'], env);
      const full = await timeNode(['produce', '--count', String(count)], env);
      const sent = full.ok ? JSON.parse(full.out.trim().split('\n').at(-1)).sent : 0;
      ok &&= startup.ok && full.ok && sent === count;
      startups.push(startup.ms);
      walls.push(full.ms);
    } finally {
      await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    }
  }
  const wall = median(walls);
  const startup = median(startups);
  return {
    ok,
    count,
    reps,
    wall_ms: wall,
    startup_ms: startup,
    msgs_per_s_including_startup: count / (wall / 1000),
    msgs_per_s: (count - 1) / (Math.max(1, wall - startup) / 1000),
  };
}

async function timeNode(args, env) {
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [join(ROOT, 'dist', 'main.js'), ...args], {
      cwd: ROOT,
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.process.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.process.stderr.resume();
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { ok: code === 0, ms: performance.now() - t0, out };
}

/** The least time the soak's warm-up lasts (see soak). */
const SOAK_WARMUP_S = 60;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * `count` messages through ours, fed as it goes (at most 5,000 waiting), RSS sampled every
 * second: the RSS after the warm-up and at the end. The warm-up ends once 10 % are done and at
 * least SOAK_WARMUP_S have passed: V8's heap grows to its plateau over time, not over messages, so
 * at 900 msg/s 10 % (20,000) came 36 s in, before the plateau, and the growth measured was the
 * heap's own settling (16.7 %, against 4.3 % from 46,500 messages on; bench/heap-soak.mjs shows
 * the live heap flat after full GCs).
 */
export async function soak(ctx, count) {
  const id = `soak-${randomUUID().slice(0, 6)}`;
  const { QueueUrl: queueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: `bench-${id}` }));
  const table = `bench-${id}`;
  await createTable(ctx, table, 'pk', true);
  const messages = buildMessages('noop', count, `k-${id}`);
  const handlerLog = join(ctx.tmp, `${id}.keys`);
  const logFile = join(ctx.tmp, `${id}.log`);
  ctx.sqsProxy.closeGate();
  // Ours at its defaults, as shipped: the start script's V8 flags (the 'shared' pass).
  const child = spawnSystem(ctx, 'ours-batched', {
    flagSet: 'shared',
    name: id,
    queueUrl,
    table,
    fifo: false,
    handlerEnv: { BENCH_HANDLER_LOG: handlerLog, BENCH_HANDLER_MS: '0' },
    logFile,
  });
  const samples = [];
  let sampler;
  try {
    await until('ours to start polling', 60_000, async () => {
      if (!child.alive()) throw new Error('ours exited');
      return ctx.sqsProxy.heldReceives() >= 1 ? true : undefined;
    });
    const t0 = Date.now();
    const cpu0 = cpuMicros(child.pid);
    ctx.sqsProxy.openGate();
    sampler = setInterval(() => {
      if (child.alive())
        samples.push({ at: Date.now() - t0, done: ctx.sqsProxy.completedCount(), ...memoryMb(child.pid) });
    }, 1000);
    const finished = waitCompleted({ ...ctx, runTimeoutMs: 25 * 60_000 }, child, count, 'ours', logFile);
    finished.catch(() => undefined);
    let sent = 0;
    while (sent < count) {
      if (sent - ctx.sqsProxy.completedCount() >= 5000) {
        // Bounded: `finished` rejects when ours exits or the soak's own deadline passes.
        await Promise.race([
          new Promise((resolve) => ctx.sqsProxy.events.once('completed', resolve)),
          finished,
        ]);
        continue;
      }
      const next = messages.slice(sent, sent + 1000);
      await fill(ctx.sqsDirect, queueUrl, next);
      sent += next.length;
      if (sent % 20_000 === 0) ctx.log(`soak: ${sent} sent, ${ctx.sqsProxy.completedCount()} done`);
    }
    await finished;
    const cpu1 = cpuMicros(child.pid);
    const end = memoryMb(child.pid);
    const seconds = (Date.now() - t0) / 1000;
    await stop(child);
    const warm = samples.find((s) => s.done >= count * 0.1 && s.at >= SOAK_WARMUP_S * 1000) ?? samples[0];
    const check = checkRuns('ours-batched', messages, runsPerKey(handlerLog));
    return {
      ok: check.ok,
      problem: check.problem,
      messages: count,
      seconds: Math.round(seconds),
      throughput_msgs_per_s: count / seconds,
      cpu_us_per_msg: (cpu1 - cpu0) / count,
      rss_after_warmup_mb: warm?.rss,
      rss_end_mb: end.rss,
      peak_rss_mb: end.hwm,
      rss_growth_pct: warm ? ((end.rss - warm.rss) / warm.rss) * 100 : NaN,
      handler_runs_per_key_max: check.max,
      samples: samples.filter((_, i) => i % 10 === 0),
    };
  } finally {
    clearInterval(sampler);
    await stop(child);
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
  }
}
