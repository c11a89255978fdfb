import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Exit, ReadySample } from './counters.js';
import { spawn } from 'node:child_process';
import { MAIN, baseEnv, freePort, pause, spawnLogged, track, type Child } from './processes.js';

/** How far apart two Node processes started together may reach their first line (see spawn). */
const TWIN_SLACK_MS = 100;

/** One `node dist/main.js start` process and its sidecar port. */
export interface Worker {
  readonly name: string;
  readonly child: Child;
  readonly httpPort: number;
  /** With `twin`: when a bare Node started beside it ran its first line (epoch ms; NaN if never). */
  readonly twin?: Promise<number> | undefined;
}

/**
 * The worker processes of one scenario: spawns them, polls each one's /readyz while it lives,
 * signals them and records how they exit.
 */
export class Fleet {
  readonly workers: Worker[] = [];
  readonly readySamples: ReadySample[] = [];
  readonly exits: Exit[] = [];
  /** pid -> when its exit was seen. */
  readonly deaths = new Map<number, number>();
  /** Per SIGKILL: the in-flight gauge read just before it, and the pid. */
  readonly kills: { pid: number; inFlight: number }[] = [];
  private polling: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly dir: string,
  ) {}

  live(): Worker[] {
    return this.workers.filter((w) => w.child.alive());
  }

  /**
   * Spawns a worker. With `twin`, a bare Node process is started just after it that prints the
   * time its first line runs: a SIGTERM sent before then found Node still booting, with no
   * JavaScript yet to install a handler, so dying of it is Node's doing (counted apart). The twin
   * boots the way the worker does, from an ES module file (`node -e` skips the ESM loader and ran
   * its first line 20-40 ms sooner on a loaded machine, so a worker killed while its own module was
   * still loading counted as a failure), and it starts second. Even so, two processes started
   * together on two busy cores reach their first lines some ms apart, either way round (CI: a
   * SIGTERM 42 ms after spawn found the twin running and the worker still booting), so Node counts
   * as booting until TWIN_SLACK_MS after the twin's first line. A handler installed late, behind
   * module loading, is hundreds of ms late: still caught.
   */
  async spawn(extraEnv: Record<string, string> = {}, twin = false): Promise<Worker> {
    this.count += 1;
    const name = `w${this.count}`;
    const httpPort = await freePort();
    const child = spawnLogged(
      process.execPath,
      [MAIN, 'start'],
      { ...this.env, ...extraEnv, HTTP_PORT: String(httpPort) },
      join(this.dir, `${name}.log`),
    );
    const probe = twin
      ? track(
          spawn(process.execPath, [this.twinFile()], {
            env: baseEnv({}),
            stdio: ['ignore', 'pipe', 'ignore'],
          }),
        )
      : undefined;
    let out = '';
    probe?.process.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const worker: Worker = { name, child, httpPort, twin: probe?.exited.then(() => Number(out || NaN)) };
    void child.exited.then(({ at }) => this.deaths.set(child.pid, at));
    this.workers.push(worker);
    return worker;
  }

  /** The twin's module: one line, like the first of src/main.ts, in this fleet's folder. */
  private twinFile(): string {
    const file = join(this.dir, 'first-line.mjs');
    if (!existsSync(file)) writeFileSync(file, 'process.stdout.write(String(Date.now()));\n');
    return file;
  }

  /** Resolves once every live worker's /readyz answered 200, or rejects at the deadline. */
  async allReady(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const statuses = await Promise.all(this.live().map((w) => this.probe(w)));
      if (statuses.every((s) => s === 200)) return;
      if (Date.now() > deadline)
        throw new Error(`workers not ready within ${deadlineMs} ms: ${statuses.join(',')}`);
      await pause(200);
    }
  }

  startPolling(everyMs = 250): void {
    const tick = () => {
      void Promise.all(this.live().map((w) => this.probe(w))).finally(() => {
        if (this.polling) this.polling = setTimeout(tick, everyMs);
      });
    };
    this.polling = setTimeout(tick, 0);
  }

  stopPolling(): void {
    if (this.polling) clearTimeout(this.polling);
    this.polling = undefined;
  }

  private async probe(w: Worker): Promise<number> {
    let status: number;
    try {
      const res = await fetch(`http://127.0.0.1:${w.httpPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = 0;
    }
    if (w.child.alive()) this.readySamples.push({ worker: w.name, at: Date.now(), status });
    return status;
  }

  /** The worker's sqs_worker_messages_in_flight gauge, or 0 when it does not answer. */
  async inFlight(w: Worker): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${w.httpPort}/metrics`, { signal: AbortSignal.timeout(500) });
      const text = await res.text();
      const line = text.split('\n').find((l) => l.startsWith('sqs_worker_messages_in_flight '));
      return line ? Number(line.split(' ')[1]) || 0 : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Sends the signal and waits for the exit (at most waitMs), recording code and time. A process
   * still running then is SIGKILLed (and recorded as not exited: ms null).
   */
  async signal(w: Worker, signal: 'SIGTERM' | 'SIGKILL', waitMs: number): Promise<Exit> {
    if (signal === 'SIGKILL') this.kills.push({ pid: w.child.pid, inFlight: await this.inFlight(w) });
    const sentAt = Date.now();
    w.child.process.kill(signal);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), waitMs).unref());
    const result = await Promise.race([w.child.exited, timeout]);
    let exit: Exit;
    if (result === 'timeout') {
      w.child.process.kill('SIGKILL');
      await w.child.exited;
      exit = {
        worker: w.name,
        signal,
        code: null,
        bySignal: 'still running',
        ms: null,
        afterSpawnMs: sentAt - w.child.spawnedAt,
      };
    } else {
      exit = {
        worker: w.name,
        signal,
        code: result.code,
        bySignal: result.signal,
        ms: result.at - sentAt,
        afterSpawnMs: sentAt - w.child.spawnedAt,
      };
    }
    if (w.twin) {
      const twinFirstLineAt = await w.twin;
      const bootEnd = twinFirstLineAt + TWIN_SLACK_MS;
      exit = { ...exit, duringBoot: Number.isNaN(twinFirstLineAt) ? null : sentAt < bootEnd };
    }
    this.exits.push(exit);
    return exit;
  }

  /** SIGTERMs every live worker at once (the end of a scenario), recording the exits. */
  async stopAll(waitMs: number): Promise<void> {
    await Promise.all(this.live().map((w) => this.signal(w, 'SIGTERM', waitMs)));
    this.stopPolling();
  }
}
