/**
 * Transfer progress on stderr (stdout carries only the result line, for scripts):
 * - on a terminal, one line redrawn in place at most 10 times a second;
 * - otherwise (a log file, CI, a test), a new line every 2 s or every 10 %, so logs stay short.
 * Speed and ETA count only the bytes moved by this run, not those a resume skipped.
 */
const MiB = 1024 * 1024;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class ProgressBar {
  private started = Date.now();
  private startBytes: number | undefined;
  private drawnDone = -1;
  private lastDraw = 0;
  private lastTenth = -1;
  private lastLength = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(stream.isTTY),
  ) {}

  update(done: number): void {
    if (done < this.done) {
      // Started over (a download whose partial file was bad): measure the new run afresh.
      this.started = Date.now();
      this.startBytes = undefined;
    }
    this.startBytes ??= done;
    this.done = done;
    const now = Date.now();
    const tenth = this.total > 0 ? Math.floor((done / this.total) * 10) : 10;
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
    } else if (now - this.lastDraw < 2000 && tenth === this.lastTenth) {
      return;
    }
    this.lastDraw = now;
    this.lastTenth = tenth;
    this.draw();
  }

  /** Leaves the last state on screen and moves to a fresh line. */
  finish(): void {
    if (this.drawnDone !== this.done) this.draw();
    if (this.tty) this.stream.write('\n');
  }

  private line(): string {
    const seconds = (Date.now() - this.started) / 1000;
    const moved = this.done - (this.startBytes ?? 0);
    const speed = seconds > 0 ? moved / seconds : 0;
    const eta = speed > 0 ? (this.total - this.done) / speed : Infinity;
    const percent = this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100;
    const width = 24;
    const filled = Math.round((percent / 100) * width);
    const bar = this.tty ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
    return `${this.label} ${bar}${String(percent).padStart(3)}% ${formatBytes(this.done)}/${formatBytes(this.total)} ${(speed / MiB).toFixed(1)} MiB/s ETA ${formatDuration(eta)}`;
  }

  private draw(): void {
    this.drawnDone = this.done;
    const text = this.line();
    if (this.tty) {
      // Pad over the previous, possibly longer, line instead of relying on terminal escapes.
      this.stream.write(`\r${text.padEnd(this.lastLength)}`);
      this.lastLength = text.length;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
