// The live topology page: one EventSource to the serving process, three views fed from it.
import type { DeliveryEvent, TopologySnapshot } from '../lib/ui/topology.js';
import { DisseminationView } from './dissemination-view.js';
import { byId } from './format.js';
import { GraphView } from './graph-view.js';
import { PeerTable } from './peer-table.js';

/** The header control requests carry (lib/ui/ui-server.ts CONTROL_HEADER). */
const CONTROL_HEADER = 'x-rxgossip-control';

const graph = new GraphView(byId('graph'));
const controlError = byId('control-error');
const table = new PeerTable(byId<HTMLTableElement>('peers').tBodies[0]!, async (id, action) => {
  controlError.textContent = '';
  try {
    const res = await fetch(`/api/peers/${id}/${action}`, { method: 'POST', headers: { [CONTROL_HEADER]: '1' } });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      controlError.textContent = `${action} failed: ${body.error ?? res.statusText}`;
    }
  } catch (err: unknown) {
    controlError.textContent = `${action} failed: ${String(err)}`;
  }
});
const dissemination = new DisseminationView(byId<HTMLOListElement>('messages'), (reach) => graph.showReach(reach));
const title = byId('title');
const summary = byId('summary');
const connection = byId('connection');

function showTopology(snapshot: TopologySnapshot): void {
  title.textContent = snapshot.title;
  document.title = `rxgossip: ${snapshot.title}`;
  const count = (state: string): number => snapshot.nodes.filter((n) => n.state === state).length;
  const alive = count('alive');
  const dead = count('dead');
  summary.dataset.alive = String(alive);
  summary.dataset.dead = String(dead);
  const expiry = snapshot.aliveExpirationMs !== undefined ? ` · dead after ${snapshot.aliveExpirationMs / 1000} s of silence` : '';
  // Both ends report a connection: count each pair once.
  const connections = new Set(snapshot.edges.map((e) => [e.from, e.to].sort().join('~'))).size;
  summary.textContent = `${alive} alive · ${dead} dead · ${connections} connection(s)${expiry}`;
  graph.update(snapshot);
  table.update(snapshot);
  dissemination.topology(snapshot);
}

// EventSource reconnects by itself after an error; each new stream starts with a full snapshot.
const events = new EventSource('/events');
events.addEventListener('open', () => {
  connection.textContent = 'live';
  connection.className = 'up';
});
events.addEventListener('error', () => {
  connection.textContent = 'disconnected, retrying…';
  connection.className = 'down';
});
events.addEventListener('hello', (e) => {
  const { controls } = JSON.parse((e as MessageEvent<string>).data) as { controls: boolean };
  document.body.classList.toggle('controls', controls);
});
events.addEventListener('topology', (e) => showTopology(JSON.parse((e as MessageEvent<string>).data) as TopologySnapshot));
const skippedNote = byId('skipped');
let skipped = 0;
events.addEventListener('deliveries', (e) => {
  const batch = JSON.parse((e as MessageEvent<string>).data) as { items: DeliveryEvent[]; skipped: number };
  for (const d of batch.items) dissemination.add(d);
  // The server sends at most a few thousand arrivals a second; say how many it left out.
  if (batch.skipped > 0) {
    skipped += batch.skipped;
    skippedNote.textContent = `(${skipped} arrivals not shown: too many to draw)`;
  }
});
