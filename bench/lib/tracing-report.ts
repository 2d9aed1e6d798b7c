// The tracing-cost section as Markdown: per transport and setting, the medians and what each
// setting adds to `none` (the bus without @omnibus/opentelemetry).
import { INSTRUMENTATIONS, INSTRUMENTATION_LABELS } from './instrumentation.js';
import type { TracingResult } from './tracing-bench.js';

const int = (v: number | undefined) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const fixed = (v: number | undefined, digits = 2) => (v === undefined ? '–' : v.toFixed(digits));
const signed = (v: number | undefined) => (v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);
const minus = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);

export function tracingMarkdown(result: TracingResult): string {
  const lines: string[] = [];
  const sizes = [...new Set(result.targets.map((t) => `${t.target} ${t.messages.toLocaleString('en-US')}`))].join(', ');
  lines.push(
    `Tracing cost, end to end in one process (subscribe, publishBatch → handler → ack), messages per run: ${sizes}; ` +
      `medians of ${result.rounds} rounds, the three settings alternating (order rotated each round):`,
  );
  lines.push('');
  lines.push('| Transport | Setting | msg/s | µs/msg | CPU µs/msg | throughput vs none | added µs/msg | added CPU µs/msg |');
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
      const ratio = m?.msgsPerSec !== undefined && none.msgsPerSec ? (m.msgsPerSec / none.msgsPerSec).toFixed(2) : '–';
      const isBase = kind === 'none';
      lines.push(
        `| ${index === 0 ? target.target : ''} | ${INSTRUMENTATION_LABELS[kind]} | ${int(m?.msgsPerSec)} | ${fixed(m?.usPerMsg)} | ${fixed(m?.cpuUsPerMsg)} | ${isBase ? '1.00' : ratio} | ` +
          `${isBase ? '' : signed(minus(m?.usPerMsg, none.usPerMsg))} | ${isBase ? '' : signed(minus(m?.cpuUsPerMsg, none.cpuUsPerMsg))} |`,
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
