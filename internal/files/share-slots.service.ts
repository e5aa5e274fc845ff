/**
 * Download slots of share links (README "Download counting rule"). A share's `maxDownloads` is
 * enforced by taking a slot before any byte goes: one conditional UPDATE
 * (`downloads = downloads + 1 ... where downloads < max_downloads`) checked by its affected rows,
 * so parallel requests can never take more slots than the limit (issue 17, item 4).
 *
 * A download fetched in several requests counts once: taking a slot also leaves a slot token in
 * the key-value store for (share, file, client), the client being its address and User-Agent,
 * living SLOT_TTL_MS after that download's last request. A request that resumes (a range not
 * starting at 0, with If-Range equal to the file's ETag, RFC 9110 §13.1.5: the client holds the
 * first part of exactly this representation) continues that download without a new slot while
 * the token lives; anything else starts a new download. A slot token only ever spares a slot to
 * a client that already took one, so it can lower the count, never let the limit be exceeded.
 *
 * A slot taken for a request that fails before any byte was sent is given back with the ticket
 * handed out when it was taken (one use, unguessable), so only that request can return it.
 */
import { eventId, type ActivityInput } from '../activity/index.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { SharesRepository } from './shares.repository.ts';

/** How long after its last request a download can be resumed without a new slot. */
export const SLOT_TTL_MS = 60 * 60_000;
/** How long a slot's give-back ticket is valid: the request's time to open the object. */
const TICKET_TTL_MS = 5 * 60_000;

/** Who asks, as far as an anonymous visitor can be told apart: address and User-Agent. */
export interface DownloadClient {
  ip: string | undefined;
  userAgent: string | undefined;
}

export type SlotResult =
  | { kind: 'exhausted' }
  | { kind: 'continued' }
  /** A new slot; `ticket` gives it back (releaseSlot) when the request fails before any byte. */
  | { kind: 'taken'; ticket: string };

export class ShareSlots {
  constructor(
    private readonly repo: SharesRepository,
    private readonly kv: KeyValueStore,
  ) {}

  /** Whether this client has a download of this file under way (its slot token lives). */
  holds(shareId: string, fileId: string, client: DownloadClient): Promise<boolean> {
    return this.kv.exists(slotKey(shareId, fileId, client));
  }

  /** Continues the client's download when `resume` and its token lives, else takes a new slot. */
  async take(shareId: string, fileId: string, client: DownloadClient, resume: boolean, event?: ActivityInput): Promise<SlotResult> {
    const key = slotKey(shareId, fileId, client);
    // EXPIRE answers whether the key exists and refreshes it in one step.
    if (resume && (await this.kv.expire(key, SLOT_TTL_MS))) return { kind: 'continued' };
    // The event's id goes with the ticket: a slot given back takes its event back too.
    const recorded = event ? { ...event, id: eventId(new Date()) } : undefined;
    if (!(await this.repo.addDownload(shareId, recorded))) return { kind: 'exhausted' };
    const ticket = randomBytes(16).toString('base64url');
    await this.kv.set(key, ticket, { ttlMs: SLOT_TTL_MS });
    await this.kv.set(ticketKey(ticket), JSON.stringify({ shareId, key, ...(recorded ? { eventId: recorded.id } : {}) }), { ttlMs: TICKET_TTL_MS });
    return { kind: 'taken', ticket };
  }

  /** Takes a slot that no request continues (saveShare's copy); false when none is left. */
  takeOnce(shareId: string): Promise<boolean> {
    return this.repo.addDownload(shareId);
  }

  /** Gives back a slot whose copy failed (saveShare). */
  async giveBack(shareId: string): Promise<void> {
    await this.repo.removeDownload(shareId);
  }

  /** Gives back the slot of a ticket once; an unknown, used or expired ticket does nothing. */
  async release(ticket: string): Promise<void> {
    const raw = await this.kv.getdel(ticketKey(ticket));
    if (raw === null) return;
    const { shareId, key, eventId: recordedId } = JSON.parse(raw) as { shareId: string; key: string; eventId?: string };
    await this.repo.removeDownload(shareId, recordedId);
    // The token goes with the slot, unless a later download of the same client replaced it.
    if ((await this.kv.get(key)) === ticket) await this.kv.del(key);
  }
}

function slotKey(shareId: string, fileId: string, client: DownloadClient): string {
  const who = createHash('sha256').update(`${client.ip ?? 'unknown'}\n${client.userAgent ?? ''}`).digest('base64url');
  return `share:slot:${shareId}:${fileId}:${who}`;
}

const ticketKey = (ticket: string) => `share:slot-ticket:${ticket}`;
