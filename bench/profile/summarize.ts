/**
 * `npx tsx bench/profile/summarize.ts FILE.cpuprofile [N]`: the functions with the most self time
 * in a V8 CPU profile, grouped by function and file, as shares of all samples. Enough to say
 * where a server spends its CPU without opening DevTools.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: summarize.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (const id of profile.samples) {
  const n = byId.get(id);
  if (!n) continue;
  const where = n.callFrame.url ? n.callFrame.url.replace(/^.*\/(node_modules\/|work\/main\/)/, '') : '(native)';
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${where}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${total} samples over ${seconds.toFixed(1)} s`);
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`);
}
