/**
 * `stratus fsck [--repair] [--grace SECONDS]`: the consistency checker (internal/fsck). Unlike the
 * other commands it does not talk to a server: it runs beside one, with the server's environment
 * (DATABASE_URL, STORAGE_CONFIG, DATA_DIR, REDIS_URL, ...), and reads the database and the storage
 * backends directly. Prints one summary line per finding kind on stdout; exits 0 when nothing is
 * left to fix, 1 when problems remain (those --repair cannot fix, or all of them without it).
 */
import { out, outJson, parse, UsageError, intOption, type Command } from './args.ts';

export class FsckProblems extends Error {
  readonly code = 'FSCK_PROBLEMS';
}

export const fsck: Command = {
  usage: 'stratus fsck [--repair] [--grace SECONDS] [--json]   (server side: uses the server\'s DATABASE_URL, STORAGE_CONFIG, DATA_DIR, ...)',
  async run(argv) {
    const { values, positionals } = parse(argv, { repair: { type: 'boolean' }, grace: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError('fsck takes no arguments');
    if (values.url !== undefined) throw new UsageError('fsck runs beside the server with its environment; it takes no --url');
    const graceSeconds = intOption('grace', values.grace, 0, 30 * 24 * 3600);
    // Loaded here so the client commands do not pull in the server's dependencies.
    const [{ loadConfig }, { createRuntime }, { createLogger }, { allEntities }, { runFsck, formatReport }, { pino }] = await Promise.all([
      import('../../internal/platform/config.ts'),
      import('../../internal/platform/runtime.ts'),
      import('../../internal/platform/logger.ts'),
      import('../../internal/entities.ts'),
      import('../../internal/fsck/index.ts'),
      import('pino'),
    ]);
    const config = loadConfig(process.env);
    // stdout carries the report only; logs go to stderr, and only warnings unless LOG_LEVEL asks for more.
    const level = process.env.LOG_LEVEL ? config.logLevel : 'warn';
    const log = createLogger({ level, name: 'stratus-fsck' }, pino.destination(2));
    const runtime = await createRuntime(config, allEntities, log);
    const repair = values.repair === true;
    try {
      const report = await runFsck(
        { orm: runtime.orm, storage: runtime.storage, kv: runtime.kv },
        { repair, ...(graceSeconds !== undefined ? { multipartGraceMs: graceSeconds * 1000 } : {}) },
      );
      if (values.json) outJson(report);
      else for (const line of formatReport(report, repair)) out(line);
      if (!report.clean) {
        const left = report.findings.filter((f) => !f.repaired).length;
        throw new FsckProblems(`${left} problem(s) remain${repair ? '' : ' (run with --repair to fix what is safe)'}`);
      }
    } finally {
      await runtime.close();
    }
  },
};
