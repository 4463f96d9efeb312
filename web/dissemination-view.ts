import type { DeliveryEvent, TopologySnapshot } from '../lib/ui/topology.js';
import type { Reach } from './graph-view.js';
import { latency } from './format.js';

interface Tracked {
  readonly message: string;
  origin?: string;
  /** The first arrival's last hop, for a single peer's view. */
  hop?: { readonly via: string; readonly from?: string };
  readonly firstAt: number;
  readonly arrivals: Map<string, number | undefined>;
  readonly li: HTMLLIElement;
}

const KEEP = 40;

/**
 * The recent data messages, newest first, each with how many peers it reached and its slowest
 * arrival. The selected message (the newest one unless the user picked another) is shown on the
 * graph: its origin and every peer it reached, with the latency of each arrival.
 */
export class DisseminationView {
  private readonly messages = new Map<string, Tracked>();
  /**
   * Messages scrolled off the list. A late arrival of one (a restarted peer catching up by pull)
   * must not bring it back as if new, with a reach of one.
   */
  private readonly forgotten = new Set<string>();
  private picked: string | undefined;
  private labels = new Map<string, string>();
  private peers = 0;
  private vantage: 'peer' | 'cluster' = 'cluster';
  private dirty = new Set<string>();
  private frame = 0;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly show: (reach: Reach) => void,
  ) {}

  topology(snapshot: TopologySnapshot): void {
    this.labels = new Map(snapshot.nodes.map((n) => [n.id, n.label]));
    this.vantage = snapshot.vantage ?? 'cluster';
    this.peers = snapshot.nodes.filter((n) => n.state !== 'dead').length;
    for (const id of this.messages.keys()) this.dirty.add(id);
    this.schedule();
  }

  add(event: DeliveryEvent): void {
    let tracked = this.messages.get(event.message);
    if (!tracked && this.forgotten.has(event.message)) return;
    if (!tracked) {
      const li = document.createElement('li');
      li.dataset.message = event.message;
      li.addEventListener('click', () => {
        this.picked = this.picked === event.message ? undefined : event.message;
        this.select();
      });
      tracked = { message: event.message, firstAt: event.time, arrivals: new Map(), li };
      this.messages.set(event.message, tracked);
      this.list.prepend(li);
      if (this.messages.size > KEEP) {
        const oldest = this.messages.keys().next().value as string;
        this.messages.get(oldest)?.li.remove();
        this.messages.delete(oldest);
        this.forgotten.add(oldest);
        if (this.forgotten.size > 10 * KEEP) this.forgotten.delete(this.forgotten.values().next().value as string);
        if (this.picked === oldest) this.picked = undefined;
      }
    }
    if (event.origin) tracked.origin = event.origin;
    if (!tracked.hop && event.via) tracked.hop = { via: event.via, ...(event.from !== undefined ? { from: event.from } : {}) };
    if (!tracked.arrivals.has(event.at)) tracked.arrivals.set(event.at, event.latencyMs);
    this.dirty.add(event.message);
    this.schedule();
  }

  /** The message on the graph: the picked one, else the newest. */
  private selected(): Tracked | undefined {
    if (this.picked) return this.messages.get(this.picked);
    let newest: Tracked | undefined;
    for (const t of this.messages.values()) newest = t;
    return newest;
  }

  private select(): void {
    const current = this.selected();
    for (const t of this.messages.values()) t.li.classList.toggle('selected', t === current);
    if (!current) return this.show({ reached: new Map() });
    // A single peer knows only the hop a message took to it: light that up.
    const reached = new Map(current.arrivals);
    if (this.vantage === 'peer' && current.hop?.from !== undefined) reached.set(current.hop.from, undefined);
    this.show({ ...(current.origin ? { origin: current.origin } : {}), reached });
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const id of this.dirty) {
        const t = this.messages.get(id);
        if (t) this.render(t);
      }
      this.dirty.clear();
      this.select();
    });
  }

  private render(t: Tracked): void {
    const name = (id: string | undefined): string => (id === undefined ? '?' : (this.labels.get(id) ?? id.slice(0, 8)));
    const latencies = [...t.arrivals.values()].filter((ms): ms is number => ms !== undefined);
    const slowest = latencies.length > 0 ? `, slowest ${latency(Math.max(...latencies))}` : '';
    const span = (className: string, text: string): HTMLSpanElement => Object.assign(document.createElement('span'), { className, textContent: text });
    const reach =
      this.vantage === 'peer'
        ? t.hop?.via === 'publish'
          ? 'published here'
          : `arrived by ${t.hop?.via ?? '?'} from ${name(t.hop?.from)}`
        : `${t.origin ? `from ${name(t.origin)}: ` : ''}reached ${t.arrivals.size}${this.peers > 0 ? ` of ${this.peers}` : ''} peer(s)${slowest}`;
    t.li.replaceChildren(
      span('id', t.message.length > 10 ? `${t.message.slice(0, 8)}…` : `#${t.message}`),
      span('reach', reach),
      span('time', new Date(t.firstAt).toLocaleTimeString()),
    );
    t.li.dataset.reached = String(t.arrivals.size);
  }
}
