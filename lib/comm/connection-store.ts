import { Connection, ConnectionState, type ConnectionClose, type ConnectionHooks } from './connection.js';
import type { ConnectionInfo, RemotePeer } from './connection-info.js';
import type { DropReason, OutboundItem } from './outbound-buffer.js';

/** What the store needs from comm. */
export interface ConnectionStoreDeps {
  readonly selfPkiId: Buffer;
  readonly hooks: ConnectionHooks;
  /** How long a duplicate connection the remote should close may stay open (see register()). */
  readonly duplicateGraceMs: number;
  /** Dials and handshakes `conn` (an outbound placeholder); rejects on failure. */
  dial(conn: Connection, peer: RemotePeer): Promise<void>;
  /** A peer we were connected or connecting to is unreachable (Fabric's PresumedDead). */
  presumedDead(pkiId: Buffer): void;
  /** Messages that could not be written anywhere. */
  dropped(conn: Connection, items: readonly OutboundItem[], reason: DropReason, cause?: Error): void;
  /** The number of live connections changed. */
  connectionsChanged(count: number): void;
}

/**
 * One connection per PKI-ID (Fabric's connStore), with concurrent sends to a new peer sharing one
 * dial, and a deterministic answer when two connections to the same peer exist at once:
 *
 * - Same direction (the remote dialed again, e.g. after a restart): the newer one wins; the older
 *   one is closed after flushing. Unlike Fabric, closing the old stream never touches the new one.
 * - Opposite directions (both peers dialed each other at once): the connection dialed by the
 *   peer with the lower PKI-ID wins, on both sides. The higher peer closes its own dial
 *   gracefully; the lower peer keeps the remote's dial on standby until the remote closes it, and
 *   if the remote has not done so within `duplicateGraceMs` it takes that as the remote keeping it
 *   (its own connection must be stale) and switches over. While a duplicate is being closed, the
 *   winner's writes are held, so messages to a peer arrive in the order they were sent.
 */
export class ConnectionStore {
  /** Where sends to a PKI-ID go: open, or still dialing. */
  private readonly active = new Map<string, Connection>();
  /** Every authenticated, usable connection per PKI-ID (active, standby, closing). */
  private readonly byPeer = new Map<string, Set<Connection>>();
  /** Dials to peers whose PKI-ID we do not know yet, by endpoint. */
  private readonly dialingByEndpoint = new Map<string, Connection>();
  /** Every connection not yet closed. */
  private readonly all = new Set<Connection>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Dials in progress: resolve once the connection is registered (usable by everyone). */
  private readonly dials = new WeakMap<Connection, Promise<void>>();
  /** Opened connections that closed with messages they could not write (a failed send). */
  private readonly lostWrites = new WeakSet<Connection>();
  private liveCount = 0;
  /** Connections in `byPeer`, kept as they are added and removed (summing the sets is O(peers)). */
  private registeredCount = 0;
  private stopped = false;

  constructor(private readonly deps: ConnectionStoreDeps) {}

  /** All connections not yet closed (authenticated or not). */
  get connections(): readonly Connection[] {
    return [...this.all];
  }

  /** Authenticated connections registered to a peer (active, standby, closing). */
  get registered(): readonly Connection[] {
    return [...this.byPeer.values()].flatMap((set) => [...set]);
  }

  /** The connection sends to `peer` go to, dialing it if there is none. */
  get(peer: RemotePeer): Connection {
    if (peer.pkiId && peer.pkiId.length > 0) {
      const existing = this.active.get(hexOf(peer.pkiId));
      if (existing?.usable) return existing;
    } else {
      const dialing = this.dialingByEndpoint.get(peer.endpoint);
      if (dialing?.usable) return dialing;
      for (const conn of this.active.values()) {
        if (conn.endpoint === peer.endpoint && conn.usable) return conn;
      }
    }
    return this.startDial(peer);
  }

  /**
   * Resolves with the remote once `conn` is open and registered (so connections() and sends see
   * it); rejects with the reason it could not be opened.
   */
  async ready(conn: Connection): Promise<ConnectionInfo> {
    await (this.dials.get(conn) ?? conn.opened);
    return conn.opened;
  }

  /** The active connection to a PKI-ID, if any. */
  activeFor(pkiId: Uint8Array): Connection | undefined {
    const conn = this.active.get(hexOf(pkiId));
    return conn?.usable ? conn : undefined;
  }

  /** Starts tracking a connection (an inbound stream, before its handshake). */
  track(conn: Connection): void {
    this.all.add(conn);
    void conn.closed.then((close) => this.onClosed(conn, close));
  }

  /** Applies the one-connection-per-peer rule to a connection whose handshake just succeeded. */
  register(conn: Connection): void {
    const info = conn.info;
    // A dialed connection is registered a few promise hops after its handshake: one the remote
    // ended meanwhile has had its onClosed already, and would otherwise stay registered.
    if (!info || this.stopped || conn.state === ConnectionState.Closed) return;
    const hex = hexOf(info.pkiId);
    let peers = this.byPeer.get(hex);
    if (!peers) this.byPeer.set(hex, (peers = new Set()));
    if (!peers.has(conn)) {
      peers.add(conn);
      this.registeredCount++;
    }
    this.countChanged();

    const existing = this.active.get(hex);
    if (!existing || existing === conn || !existing.usable) {
      this.active.set(hex, conn);
      return;
    }
    if (existing.direction === conn.direction) {
      this.active.set(hex, conn);
      this.retire(existing);
      return;
    }
    const selfIsLower = Buffer.compare(this.deps.selfPkiId, info.pkiId) < 0;
    const winner = (conn.direction === 'outbound') === selfIsLower ? conn : existing;
    const loser = winner === conn ? existing : conn;
    this.active.set(hex, winner);
    const release = winner.outbound.hold();
    void loser.closed.then(release);
    if (loser.direction === 'outbound') {
      this.retire(loser);
      return;
    }
    // The loser is the remote's dial: it is the remote's to close. Give it the time to.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!loser.usable || this.active.get(hex) !== winner || !winner.usable) return;
      this.active.set(hex, loser);
      this.retire(winner);
    }, this.deps.duplicateGraceMs);
    timer.unref();
    this.timers.add(timer);
    void loser.closed.then(() => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  /** Closes every connection to a PKI-ID gracefully. */
  async closePeer(pkiId: Uint8Array): Promise<void> {
    const hex = hexOf(pkiId);
    const conns = [...(this.byPeer.get(hex) ?? [])];
    const active = this.active.get(hex);
    if (active && !conns.includes(active)) conns.push(active);
    this.active.delete(hex);
    await Promise.all(conns.map((c) => c.close()));
  }

  /** Stops accepting work; closes every connection (cancelling those not done within graceMs). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const conns = [...this.all];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([Promise.all(conns.map((c) => c.close())), deadline]);
    clearTimeout(timer);
    for (const conn of conns) conn.abort(new Error('comm stopped'));
    this.active.clear();
    this.byPeer.clear();
    this.registeredCount = 0;
    this.dialingByEndpoint.clear();
  }

  private startDial(peer: RemotePeer): Connection {
    const conn = new Connection('outbound', peer.endpoint, this.deps.hooks, peer.pkiId);
    this.track(conn);
    if (peer.pkiId && peer.pkiId.length > 0) {
      this.active.set(hexOf(peer.pkiId), conn);
    } else {
      this.dialingByEndpoint.set(peer.endpoint, conn);
    }
    if (this.stopped) {
      void conn.close();
      return conn;
    }
    const dial = this.deps.dial(conn, peer).then(
      () => {
        if (this.dialingByEndpoint.get(peer.endpoint) === conn) this.dialingByEndpoint.delete(peer.endpoint);
        this.register(conn);
      },
      (err: unknown) => {
        if (this.dialingByEndpoint.get(peer.endpoint) === conn) this.dialingByEndpoint.delete(peer.endpoint);
        this.onDialFailed(conn, peer);
        throw err;
      },
    );
    dial.catch(() => undefined);
    this.dials.set(conn, dial);
    return conn;
  }

  private onDialFailed(conn: Connection, peer: RemotePeer): void {
    const pkiId = peer.pkiId && peer.pkiId.length > 0 ? Buffer.from(peer.pkiId) : undefined;
    if (conn.state !== ConnectionState.Closed) void conn.close();
    if (!pkiId) return;
    const hex = hexOf(pkiId);
    if (this.active.get(hex) === conn) this.active.delete(hex);
    const other = this.pickUsable(hex);
    if (other) {
      this.active.set(hex, other);
    } else if (!this.stopped && !conn.cancelled) {
      // A dial we cancelled ourselves (closeConn) says nothing about the peer.
      this.deps.presumedDead(pkiId);
    }
  }

  /**
   * A closing connection's unwritten messages: to the peer's current connection if there is one
   * (a retired duplicate, a failed dial racing a working inbound), else dropped and counted.
   */
  leftover(conn: Connection, items: OutboundItem[], opened: boolean, cause?: Error): void {
    const pkiId = conn.info?.pkiId ?? conn.targetPkiId;
    if (pkiId && !this.stopped) {
      const hex = hexOf(pkiId);
      const active = this.active.get(hex);
      const successor = active && active !== conn && active.usable ? active : this.pickUsable(hex, conn);
      if (successor) {
        successor.outbound.adopt(items);
        return;
      }
    }
    if (opened && !this.stopped) this.lostWrites.add(conn);
    // A dial we cancelled (closeConn) did not fail: its messages went with the connection we closed.
    const reason = this.stopped ? 'stopped' : opened || conn.cancelled ? 'connection-closed' : 'dial-failed';
    this.deps.dropped(conn, items, reason, cause);
  }

  /** Closes `old` gracefully: what it queued is written first, or (not yet open) moved on. */
  private retire(old: Connection): void {
    void old.close();
  }

  private onClosed(conn: Connection, close: ConnectionClose): void {
    this.all.delete(conn);
    const info = conn.info;
    if (!info) return;
    const hex = hexOf(info.pkiId);
    const peers = this.byPeer.get(hex);
    if (peers?.delete(conn)) {
      this.registeredCount--;
      if (peers.size === 0) this.byPeer.delete(hex);
      this.countChanged();
    }
    if (this.active.get(hex) !== conn) return;
    const next = this.pickUsable(hex);
    if (next) {
      this.active.set(hex, next);
      return;
    }
    this.active.delete(hex);
    // As Fabric: a peer is presumed dead when a dial fails (onDialFailed) or a send fails, here
    // messages its connection could not write. A stream that ends, is cancelled or drops while
    // nothing waits for it is not a death by itself: a Fabric peer that stops cancels its streams,
    // and a killed process's kernel closes its sockets the same orderly way; the next send dials,
    // and reports the peer if that fails.
    if (!close.graceful && !close.local && !this.stopped && this.lostWrites.has(conn)) this.deps.presumedDead(info.pkiId);
  }

  private pickUsable(hex: string, except?: Connection): Connection | undefined {
    let best: Connection | undefined;
    for (const c of this.byPeer.get(hex) ?? []) {
      if (c === except) continue;
      if (c.state === ConnectionState.Open && (!best || c.establishedAt > best.establishedAt)) best = c;
    }
    return best;
  }

  private countChanged(): void {
    const count = this.registeredCount;
    if (count !== this.liveCount) {
      this.liveCount = count;
      this.deps.connectionsChanged(count);
    }
  }
}

const hexCache = new WeakMap<Uint8Array, string>();

/** Map key of a PKI-ID (memoized: it is computed on every send). */
export function hexOf(pkiId: Uint8Array): string {
  let hex = hexCache.get(pkiId);
  if (hex === undefined) {
    hex = Buffer.from(pkiId.buffer, pkiId.byteOffset, pkiId.byteLength).toString('hex');
    hexCache.set(pkiId, hex);
  }
  return hex;
}
