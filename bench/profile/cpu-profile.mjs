// Preloaded into the server process (NODE_OPTIONS=--import …) when BENCH_PROFILE_DIR is set:
// Node refuses --cpu-prof in NODE_OPTIONS, so the V8 profiler is driven through the inspector
// instead. The main-thread session answers synchronously, so the profile can be written on 'exit'.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms sampling (the default 10 ms would miss short hashing calls between stream events).
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
