/**
 * The splicer's contract (internal/platform/splice.ts over native/splice) on real loopback TCP
 * sockets: exactly the bytes asked for arrive, in order, through a slow reader and many moves at
 * once; each way a move can stop says whose fault it was; the sockets stay usable afterwards, and
 * a socket destroyed mid-move stops it. The addon must be built here (npm install builds it on
 * Linux with a C toolchain): a missing addon fails this file rather than passing without it.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptorOf, loadSplicer, type SpliceSlot, type Splicer } from './splice.ts';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Pair {
  /** Our end of each connection. */
  near: net.Socket;
  /** The peer's end. */
  far: net.Socket;
}

const open: net.Server[] = [];
afterEach(() => {
  for (const server of open.splice(0)) server.close();
});

/** A connected loopback pair: `near` is the accepted end, as a server's sockets are. */
async function pair(): Promise<Pair> {
  // Paused on connect, as the object store's socket is once its head is read: a socket Node
  // reads ahead on would hold bytes in the process that no splice can see.
  const server = net.createServer({ pauseOnConnect: true });
  open.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const far = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => far.once('connect', resolve));
  return { near: await accepted, far };
}

/** Reads `far` until it ends or `bytes` arrived, optionally slowly. */
function collect(far: net.Socket, options: { slow?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    far.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.slow) {
        far.pause();
        setTimeout(() => far.resume(), 1);
      }
    });
    far.on('end', () => resolve(Buffer.concat(chunks)));
    far.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

function splicer(maxMoves?: number): Splicer {
  const loaded = loadSplicer(maxMoves);
  if (!loaded) throw new Error('native/splice is not built: run npm install (node-gyp and a C toolchain)');
  return loaded;
}

/** A place for one move on a splicer of its own. */
function place(): SpliceSlot {
  const slot = splicer().reserve();
  if (!slot) throw new Error('a new splicer has room');
  return slot;
}

describe('splice (native/splice)', () => {
  it('is built and loads on Linux', () => {
    expect(process.platform).toBe('linux');
    expect(loadSplicer()).not.toBeNull();
  });

  it('moves exactly the bytes asked for, in order, into a slow reader; both sockets stay usable', async () => {
    const data = randomBytes(24 * MiB + 333);
    const source = await pair();
    const target = await pair();
    // The source sends more than the move takes: the rest stays unread in its socket.
    source.far.write(Buffer.concat([data, Buffer.from('NEXT')]));
    const received = collect(target.far, { slow: true });
    const outcome = await place().move(source.near, target.near, data.length, { idleTimeoutMs: 10_000 });
    expect(outcome).toEqual({ ok: true, moved: data.length });
    // Usable afterwards from JS: the bytes after the move are still in the source, and a write
    // on the target comes after the spliced ones.
    source.near.resume();
    const [next] = (await new Promise<Buffer[]>((resolve) => source.near.once('data', (chunk: Buffer) => resolve([chunk])))) as [Buffer];
    expect(next.toString()).toBe('NEXT');
    target.near.end(Buffer.from('trailer'));
    const got = await received;
    expect(got.length).toBe(data.length + 7);
    expect(sha(got.subarray(0, data.length))).toBe(sha(data));
    expect(got.subarray(data.length).toString()).toBe('trailer');
    source.far.destroy();
    source.near.destroy();
  });

  it('keeps many moves at once apart, byte for byte', async () => {
    const moves = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const data = randomBytes(2 * MiB + i * 4099);
        const source = await pair();
        const target = await pair();
        source.far.end(data);
        const received = collect(target.far, { slow: i % 3 === 0 });
        const outcome = await place().move(source.near, target.near, data.length, { idleTimeoutMs: 10_000 });
        target.near.end();
        source.near.destroy();
        return { data, outcome, got: await received };
      }),
    );
    for (const [i, m] of moves.entries()) {
      expect(m.outcome, `move ${i}`).toEqual({ ok: true, moved: m.data.length });
      expect(sha(m.got), `move ${i}`).toBe(sha(m.data));
    }
  });

  it('a source that closes early: EOF, the source\'s fault, with the bytes that did arrive', async () => {
    const source = await pair();
    const target = await pair();
    // A slow reader: when the source ends, the pipe still holds bytes the target has not taken.
    const received = collect(target.far, { slow: true });
    source.far.end(randomBytes(3 * MiB));
    const outcome = await place().move(source.near, target.near, 5 * MiB, { idleTimeoutMs: 10_000 });
    expect(outcome).toEqual({ ok: false, moved: 3 * MiB, code: 'EOF', side: 'source' });
    target.near.end();
    expect((await received).length).toBe(3 * MiB);
    source.near.destroy();
  });

  it('a target whose peer went away: the target\'s fault', async () => {
    const source = await pair();
    const target = await pair();
    target.far.destroy();
    const feeding = setInterval(() => source.far.write(randomBytes(256 * 1024)), 5);
    try {
      const outcome = await place().move(source.near, target.near, 512 * MiB, { idleTimeoutMs: 10_000 });
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.side).toBe('target');
        expect(['EPIPE', 'ECONNRESET']).toContain(outcome.code);
      }
    } finally {
      clearInterval(feeding);
      source.far.destroy();
      source.near.destroy();
      target.near.destroy();
    }
  });

  it('a source that trickles: each piece goes on at once, and its progress keeps the idle timeout away', async () => {
    const source = await pair();
    const target = await pair();
    const started = performance.now();
    let firstAt = 0;
    target.far.once('data', () => (firstAt = performance.now() - started));
    const received = collect(target.far);
    const piece = randomBytes(1024);
    let sent = 0;
    // 1 KiB every 20 ms for about 0.8 s: far below the thread's wake-up mark (256 KiB).
    const feeding = setInterval(() => {
      source.far.write(piece);
      if (++sent === 40) clearInterval(feeding);
    }, 20);
    const outcome = await place().move(source.near, target.near, 40 * 1024, { idleTimeoutMs: 300 });
    expect(outcome).toEqual({ ok: true, moved: 40 * 1024 });
    expect(firstAt).toBeLessThan(300);
    target.near.end();
    expect((await received).length).toBe(40 * 1024);
    // The socket's low-water mark is back to 1: a small write is readable at once again.
    source.near.resume();
    const next = new Promise<string>((resolve) => source.near.once('data', (c: Buffer) => resolve(c.toString())));
    source.far.write('x');
    expect(await next).toBe('x');
    for (const s of [source.near, source.far]) s.destroy();
  });

  it('no byte for the idle timeout: ETIMEDOUT, on the side it waited for', async () => {
    const source = await pair();
    const target = await pair();
    const started = performance.now();
    const outcome = await place().move(source.near, target.near, MiB, { idleTimeoutMs: 300 });
    expect(outcome).toEqual({ ok: false, moved: 0, code: 'ETIMEDOUT', side: 'source' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    for (const s of [source.near, source.far, target.near, target.far]) s.destroy();
  });

  it('an abort stops a move at once, also one that is moving; a socket destroyed meanwhile is not touched again', async () => {
    const source = await pair();
    const target = await pair();
    const received = collect(target.far, { slow: true });
    source.far.write(randomBytes(64 * MiB));
    const stop = new AbortController();
    const moving = place().move(source.near, target.near, 64 * MiB, { idleTimeoutMs: 10_000, signal: stop.signal });
    setTimeout(() => {
      stop.abort();
      // What a server does when the client's socket closes: its descriptor is closed at once.
      target.near.destroy();
    }, 50);
    const outcome = await moving;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.code).toBe('ECANCELED');
    expect(outcome.moved).toBeLessThan(64 * MiB);
    // The thread let go of its duplicate: the connection really closes for the peer.
    await received;
    const late = place().move(source.near, target.near, MiB, { idleTimeoutMs: 1000, signal: AbortSignal.abort() });
    expect(await late).toMatchObject({ ok: false, moved: 0, side: 'target' });
    source.far.destroy();
    source.near.destroy();
  });

  it('holds at most maxMoves places: a settled move and an unused place give theirs back', async () => {
    const limited = splicer(2);
    const first = limited.reserve();
    const second = limited.reserve();
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(limited.reserve()).toBeNull();
    second?.release();
    second?.release(); // twice is once: one place comes back, not two
    const third = limited.reserve();
    expect(third).not.toBeNull();
    expect(limited.reserve()).toBeNull();
    third?.release();
    const source = await pair();
    const target = await pair();
    const received = collect(target.far);
    source.far.end(randomBytes(MiB));
    expect(await first!.move(source.near, target.near, MiB, { idleTimeoutMs: 10_000 })).toEqual({ ok: true, moved: MiB });
    // The settled move gave its place back: both are free again.
    const again = [limited.reserve(), limited.reserve()];
    expect(again.every((slot) => slot !== null)).toBe(true);
    expect(limited.reserve()).toBeNull();
    for (const slot of again) slot?.release();
    // A place moves once.
    expect(await first!.move(source.near, target.near, MiB, { idleTimeoutMs: 10_000 })).toMatchObject({ ok: false, code: 'EINVAL' });
    target.near.end();
    expect((await received).length).toBe(MiB);
    for (const s of [source.near, source.far]) s.destroy();
  });

  it('only a plain TCP socket has a descriptor to splice', async () => {
    const plain = await pair();
    expect(descriptorOf(plain.near)).toEqual(expect.any(Number));
    // A TLS socket's bytes must be encrypted in the process: never spliced.
    const wrapped = new tls.TLSSocket(plain.far);
    expect(descriptorOf(wrapped)).toBeNull();
    plain.near.destroy();
    expect(descriptorOf(plain.near)).toBeNull();
    expect(descriptorOf(null)).toBeNull();
    wrapped.destroy();
    plain.far.destroy();
  });
});
