// Summarize a V8 .cpuprofile (from `--cpu-prof`): where the time goes, by function and by file.
//   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 40] [--match packages/] [--per MESSAGES]
// --per N adds a column of microseconds per message (time / N).
// Self time is time spent in the function itself; total time includes what it called.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, match: { type: 'string' }, per: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: profile-summary <file.cpuprofile> [--top N] [--match substring-of-url]');
  process.exit(2);
}
const top = Number(values.top ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = profile.endTime - profile.startTime;

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'nm:').replace(/^\/work\/main\//, '');
const key = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;

/** Which package a frame belongs to: @omnibus/<name>, a node_modules package, node internals, or a V8 bucket. */
const packageOf = (f: CallFrame): string => {
  const url = f.url.replace(/^file:\/\//, '');
  const ours = /\/packages\/([^/]+)\/src\//.exec(url);
  if (ours) return `@omnibus/${ours[1]}`;
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep) return dep[1] === 'tsx' || dep[1] === 'esbuild' ? 'tsx (module loading)' : (dep[1] as string);
  if (url.startsWith('node:')) return url.startsWith('node:internal/modules') ? 'node module loading' : 'node internals';
  if (url.includes('/bench/')) return 'bench harness';
  if (!url) return f.functionName === '(garbage collector)' || f.functionName === '(idle)' || f.functionName === '(program)' ? f.functionName : 'V8 builtins / natives';
  return url;
};
const packages = new Map<string, number>();

const self = new Map<string, number>();
const total = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + us);
  const f = short(node.callFrame.url) || `(${node.callFrame.functionName})`;
  files.set(f, (files.get(f) ?? 0) + us);
  // Natives and Node internals (socket writes, JSON, streams) count for the package that called them.
  let owner: ProfileNode | undefined = node;
  const bucket = ['(garbage collector)', '(idle)', '(program)', '(root)'];
  if (!bucket.includes(node.callFrame.functionName)) {
    const foreign = (n: ProfileNode) => !n.callFrame.url || n.callFrame.url.startsWith('node:');
    while (owner && foreign(owner)) owner = byId.get(parent.get(owner.id) ?? -1);
  }
  const pkg = owner ? packageOf(owner.callFrame) : `${packageOf(node.callFrame)} (no package caller)`;
  packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  // Inclusive: count once per distinct frame on the stack.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (!n) break;
    const k = key(n.callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + us);
  }
}

const per = values.per ? Number(values.per) : undefined;
const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%${per ? ` ${(us / per).toFixed(1).padStart(6)} µs/msg` : ''}`;
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n## ${title}`);
  [...map]
    .filter(([k]) => !values.match || k.includes(values.match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) => console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`));
};
console.log(`profile ${file}: ${(totalUs / 1e6).toFixed(2)} s`);
show('self time by package (natives and node: internals counted for the package that called them)', packages);
show('self time by file', files);
show('self time by function', self);
show('total time by function', total);
