import type { Counters, Criterion } from './criteria.js';

interface ReportScenario {
  readonly name: string;
  readonly durationMs: number;
  readonly notes: readonly string[];
  readonly counters: Counters | undefined;
  readonly criteria: readonly Criterion[];
  readonly error?: string;
}

interface Report {
  readonly form: string;
  readonly durationMs: number;
  readonly emulators: string;
  readonly pass: boolean;
  readonly scenarios: readonly ReportScenario[];
}

const fmt = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '-';

/** The report as markdown: one row of counters per scenario, then every criterion PASS/FAIL. */
export function markdown(report: Report): string {
  const lines: string[] = [
    `## Chaos suite (${report.form} form): ${report.pass ? 'PASS' : 'FAIL'} in ${Math.round(report.durationMs / 1000)} s`,
    '',
    `Emulators: ${report.emulators}`,
    '',
    '| scenario | keys | lost | runs/key | extra (allowed) | after success | aborted | overlaps | IN_PROGRESS left | in queue | dead-lettered | PermanentError not run once | lease_lost (false) | /readyz changes | exits | max SIGTERM exit ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of report.scenarios) {
    const c = s.counters;
    if (!c) {
      lines.push(`| ${s.name} | ${s.error ?? 'no result'} | | | | | | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${s.name} | ${c.keys} | ${c.lost} | ${fmt(c.runsPerKey)} | ${c.extraRuns} (${c.extraRunsAllowed ?? 'retries'}) | ${c.runsAfterSuccess} | ${c.abortedRuns} | ${c.overlaps} | ` +
        `${c.inProgressRecords} | ${c.leftInQueue} | ${fmt(c.deadLettered)} | ${c.permanentNotOnce} | ${c.leaseLost} (${c.falseLeaseLost}) | ${c.readyTransitions} | ${fmt(c.exits)} | ${c.termExitMaxMs ?? '-'} |`,
    );
  }
  lines.push('', '| scenario | criterion | result | detail |', '| --- | --- | --- | --- |');
  for (const s of report.scenarios) {
    if (s.error)
      lines.push(`| ${s.name} | harness ran the scenario | FAIL | ${s.error.replaceAll('|', '/')} |`);
    for (const c of s.criteria) {
      lines.push(
        `| ${s.name} | ${c.name} | ${c.pass ? 'PASS' : 'FAIL'} | ${c.detail.replaceAll('|', '/')} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
