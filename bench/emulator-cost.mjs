// What each run cost outside the system under test: the CPU time of DynamoDB Local (or dynalite)
// and of fauxqs, each divided by the requests it served in the run (the counting proxies' counts),
// each emulator's share of the run's wall time in cores, the bench process itself (it hosts both
// proxies), the whole machine's busy time, and the mean body bytes per request and per answer.
// Read once at the start and once at the end of a run (the gate's opening to the last delete),
// from /proc and the proxies: nothing is sampled while the run goes.
import { performance } from 'node:perf_hooks';
import { machineBusyMicros, treeCpuMicros } from './env.mjs';

/**
 * One reading. `ctx.emulators` holds the pids the bench spawned for DynamoDB and SQS (each
 * emulator's CPU is that process and everything under it); without them the CPU figures are NaN.
 */
export function readCosts(ctx) {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    ddbCpu: ctx.emulators ? treeCpuMicros(ctx.emulators.ddbPid) : NaN,
    sqsCpu: ctx.emulators ? treeCpuMicros(ctx.emulators.sqsPid) : NaN,
    benchCpu: usage.user + usage.system,
    machine: machineBusyMicros(),
    ddb: { counts: ctx.ddbProxy.counts(), bytes: ctx.ddbProxy.bytes() },
    sqs: { counts: ctx.sqsProxy.counts(), bytes: ctx.sqsProxy.bytes() },
  };
}

const requests = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The row's optional fields from two readings: `messages` the run's message count, `systemCpu`
 * the system's own CPU time over the same window (µs), for the sum of every process's CPU.
 */
export function costFields(before, after, messages, systemCpu) {
  const wallUs = Math.max(1, (after.at - before.at) * 1000);
  const side = (name, cpuKey) => {
    const n = requests(after[name].counts) - requests(before[name].counts);
    const cpu = after[cpuKey] - before[cpuKey];
    const reqBytes = after[name].bytes.request - before[name].bytes.request;
    const resBytes = after[name].bytes.response - before[name].bytes.response;
    // A run that sent an emulator nothing has no cost per request (its idle CPU is still in cores).
    return {
      cpu,
      cpuPerMsg: n > 0 ? cpu / messages : NaN,
      cpuPerReq: n > 0 ? cpu / n : NaN,
      cores: cpu / wallUs,
      reqBytes: n > 0 ? reqBytes / n : NaN,
      resBytes: n > 0 ? resBytes / n : NaN,
    };
  };
  const ddb = side('ddb', 'ddbCpu');
  const sqs = side('sqs', 'sqsCpu');
  const bench = after.benchCpu - before.benchCpu;
  return {
    ddb_emulator_cpu_us_per_req: ddb.cpuPerReq,
    ddb_emulator_cores: ddb.cores,
    ddb_emulator_cpu_us_per_msg: ddb.cpuPerMsg,
    sqs_emulator_cpu_us_per_req: sqs.cpuPerReq,
    sqs_emulator_cores: sqs.cores,
    ddb_request_body_bytes: ddb.reqBytes,
    ddb_response_body_bytes: ddb.resBytes,
    sqs_request_body_bytes: sqs.reqBytes,
    sqs_response_body_bytes: sqs.resBytes,
    bench_process_cpu_us_per_msg: bench / messages,
    all_cpu_us_per_msg: (systemCpu + ddb.cpu + sqs.cpu + bench) / messages,
    machine_cores_busy: (after.machine - before.machine) / wallUs,
    measured_wall_ms: wallUs / 1000,
  };
}
