// The tracing-cost section as Markdown: per transport and setting, the medians and what each
// setting adds to `none` (the bus without @omnibus/opentelemetry).
import { INSTRUMENTATIONS, INSTRUMENTATION_LABELS } from './instrumentation.js';
import type { TracingResult } from './tracing-bench.js';

const int = (v: number | undefined) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const fixed = (v: number | undefined, digits = 2) => (v === undefined ? '–' : v.toFixed(digits));
const signed = (v: number | undefined) => (v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2));

export function tracingMarkdown(result: TracingResult): string {
  const lines: string[] = [];
  const sizes = [...new Set(result.targets.map((t) => `${t.target} ${t.messages.toLocaleString('en-US')}`))].join(', ');
  lines.push(
    `Tracing cost, end to end in one process (subscribe, publishBatch → handler → ack), messages per run: ${sizes}; ` +
      `medians of ${result.rounds} rounds, the three settings alternating (order rotated each round). ` +
      'CPU is user + system of the one process per message; "CPU ratio" is none\'s CPU µs/msg over the setting\'s (the throughput ratio of a CPU-bound process); ' +
      '"added CPU" is the median of the per-round differences to none [lowest … highest]:',
  );
  lines.push('');
  lines.push('| Transport | Setting | msg/s | µs/msg | CPU µs/msg | throughput vs none | CPU ratio vs none | added CPU µs/msg |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const notes: string[] = [];
  for (const target of result.targets) {
    if (target.status === 'skipped' || !target.medians) {
      lines.push(`| ${target.target} | skipped: ${target.reason ?? ''} | | | | | | |`);
      continue;
    }
    const none = target.medians.none;
    INSTRUMENTATIONS.forEach((kind, index) => {
      const m = target.medians?.[kind];
      const added = m?.addedCpuUs ? `${signed(m.addedCpuUs.median)} [${signed(m.addedCpuUs.min)} … ${signed(m.addedCpuUs.max)}]` : '';
      lines.push(
        `| ${index === 0 ? target.target : ''} | ${INSTRUMENTATION_LABELS[kind]} | ${int(m?.msgsPerSec)} | ${fixed(m?.usPerMsg)} | ${fixed(m?.cpuUsPerMsg)} | ` +
          `${ratio(m?.msgsPerSec, none.msgsPerSec)} | ${ratio(none.cpuUsPerMsg, m?.cpuUsPerMsg)} | ${added} |`,
      );
    });
    for (const error of target.errors) notes.push(`- ${target.target} ${error}`);
    // The sdk side must really have traced and counted every message, or its figure means nothing.
    for (const run of target.runs) {
      if (run.recorded && run.recorded.consumed < target.messages) notes.push(`- ${target.target} r${run.round} sdk: only ${run.recorded.consumed} of ${target.messages} messages counted as consumed`);
    }
    if (target.cleanup && 'error' in target.cleanup) notes.push(`- ${target.target}: cleanup failed: ${target.cleanup.error}`);
  }
  if (notes.length > 0) lines.push('', 'Notes:', ...notes);
  return lines.join('\n');
}
