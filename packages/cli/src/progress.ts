import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './io.js';

export interface ReplayCounts {
  readonly replayed: number;
  readonly kept: number;
  readonly failed: number;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise (the summary line says it all). */
export interface Progress {
  update(counts: ReplayCounts, total: number | undefined): void;
  stop(): void;
}

export function progressFor(io: CliIo, label: string): Progress {
  if (!io.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar(
    { stream: io.stderr, format: `${label} [{bar}] {value}/{total} | kept {kept} | failed {failed} | {duration_formatted}`, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(counts, total) {
      const goal = Math.max(total ?? 0, counts.replayed + counts.kept + counts.failed, 1);
      if (!started) {
        bar.start(goal, counts.replayed, { kept: counts.kept, failed: counts.failed });
        started = true;
      }
      bar.setTotal(goal);
      bar.update(counts.replayed, { kept: counts.kept, failed: counts.failed });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
