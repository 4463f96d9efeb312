import type { TopologyNode, TopologySnapshot } from '../lib/ui/topology.js';
import { ago, rate } from './format.js';

/** What the kill and restart buttons ask for. */
export type ControlAction = (nodeId: string, action: 'kill' | 'restart') => Promise<void>;

interface Row {
  readonly tr: HTMLTableRowElement;
  readonly cells: { label: HTMLElement; state: HTMLElement; seen: HTMLElement; sent: HTMLElement; received: HTMLElement; queued: HTMLElement };
  readonly kill: HTMLButtonElement;
  readonly restart: HTMLButtonElement;
}

/**
 * One row per peer: state, when it was last heard from, message rates, queue depth, and (when the
 * host allows) kill/restart buttons. Rows are updated in place so a button never moves under the
 * pointer. Each row carries data-peer-id and data-state for scripts and tests.
 */
export class PeerTable {
  private readonly rows = new Map<string, Row>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly tbody: HTMLTableSectionElement,
    private readonly control: ControlAction,
  ) {}

  update(snapshot: TopologySnapshot): void {
    const seen = new Set<string>();
    const order = [...snapshot.nodes].sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
    for (const node of order) {
      seen.add(node.id);
      const row = this.rows.get(node.id) ?? this.addRow(node.id);
      this.fill(row, node, snapshot.at);
      this.tbody.appendChild(row.tr); // keeps rows in label order; a no-op when already in place
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
  }

  private addRow(id: string): Row {
    const tr = document.createElement('tr');
    tr.dataset.peerId = id;
    const td = (className = ''): HTMLElement => {
      const cell = tr.insertCell();
      cell.className = className;
      return cell;
    };
    const cells = { label: td('label'), state: td('state'), seen: td('seen'), sent: td('num'), received: td('num'), queued: td('num') };
    const actions = td('controls-only');
    const button = (action: 'kill' | 'restart'): HTMLButtonElement => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = action;
      b.dataset.action = action;
      b.textContent = action;
      b.addEventListener('click', () => {
        this.pending.add(id);
        b.disabled = true;
        void this.control(id, action).finally(() => this.pending.delete(id));
      });
      actions.appendChild(b);
      return b;
    };
    const row = { tr, cells, kill: button('kill'), restart: button('restart') };
    this.rows.set(id, row);
    return row;
  }

  private fill(row: Row, node: TopologyNode, at: number): void {
    row.tr.dataset.state = node.state;
    row.tr.dataset.running = String(node.running !== false);
    row.tr.classList.toggle('self', node.self === true);
    row.cells.label.textContent = node.label;
    row.cells.label.title = `${node.endpoint}\nPKI-ID ${node.id}`;
    const stateText = node.running === false ? `${node.state}, process killed` : node.state;
    row.cells.state.replaceChildren(Object.assign(document.createElement('span'), { textContent: stateText }));
    row.cells.state.title = node.detail ?? '';
    row.cells.seen.textContent = node.self ? '—' : ago(node.lastSeen === undefined ? undefined : at - node.lastSeen);
    row.cells.sent.textContent = rate(node.sentPerSec);
    row.cells.received.textContent = rate(node.receivedPerSec);
    row.cells.queued.textContent = node.queued === undefined ? '—' : String(node.queued);
    const busy = this.pending.has(node.id);
    const running = node.running !== false;
    row.kill.hidden = !running;
    row.restart.hidden = running;
    row.kill.disabled = busy || node.self === true;
    row.restart.disabled = busy;
  }
}
