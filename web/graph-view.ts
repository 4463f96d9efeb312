import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import type { TopologySnapshot } from '../lib/ui/topology.js';
import { latency } from './format.js';

/** Which nodes a message reached, and how long after its publication (when known). */
export interface Reach {
  readonly origin?: string;
  readonly reached: ReadonlyMap<string, number | undefined>;
}

const COLORS = { alive: '#2e9d5b', dead: '#c8372d', partial: '#e0a526', unknown: '#8a8f98', reached: '#2f6fd6' };

/**
 * The membership as a graph (cytoscape.js): peers as nodes coloured by state, open connections
 * as edges, the selected message's reach as blue rings with latencies. Updated in place, so the
 * layout moves only when peers come or go.
 */
export class GraphView {
  private readonly cy: Core;
  private reach: Reach = { reached: new Map() };
  private labels = new Map<string, string>();

  constructor(container: HTMLElement) {
    this.cy = cytoscape({
      container,
      boxSelectionEnabled: false,
      style: [
        {
          selector: 'node',
          style: {
            'background-color': COLORS.unknown,
            label: 'data(display)',
            'text-wrap': 'wrap',
            'text-valign': 'bottom',
            'text-margin-y': 5,
            'font-size': 12,
            color: '#1d2330',
            width: 38,
            height: 38,
            'border-width': 0,
          },
        },
        { selector: 'node.alive', style: { 'background-color': COLORS.alive } },
        { selector: 'node.dead', style: { 'background-color': COLORS.dead } },
        { selector: 'node.partial', style: { 'background-color': COLORS.partial } },
        { selector: 'node.stopped', style: { 'background-opacity': 0.45, 'border-style': 'dashed', 'border-width': 2, 'border-color': COLORS.dead } },
        { selector: 'node.self', style: { shape: 'round-rectangle', 'border-width': 3, 'border-color': '#1d2330' } },
        { selector: 'node.reached', style: { 'border-width': 6, 'border-color': COLORS.reached, 'border-style': 'solid' } },
        { selector: 'node.origin', style: { 'border-width': 6, 'border-color': COLORS.reached, 'border-style': 'double' } },
        { selector: 'edge', style: { width: 2, 'line-color': '#9aa3b2', 'curve-style': 'straight' } },
        { selector: 'edge.queued', style: { width: 4, 'line-color': '#e0a526' } },
      ],
    });
    window.addEventListener('resize', () => {
      this.cy.resize();
      this.cy.fit(undefined, 40);
    });
  }

  update(snapshot: TopologySnapshot): void {
    const nodeIds = new Set(snapshot.nodes.map((n) => n.id));
    const edges = new Map<string, { from: string; to: string; queued: number }>();
    for (const e of snapshot.edges) {
      if (!nodeIds.has(e.from) || !nodeIds.has(e.to) || e.from === e.to) continue;
      const key = [e.from, e.to].sort().join('~'); // a connection is drawn once, whoever dialed
      const known = edges.get(key);
      edges.set(key, { from: e.from, to: e.to, queued: (known?.queued ?? 0) + (e.queued ?? 0) });
    }
    let changed = false;
    this.labels = new Map(snapshot.nodes.map((n) => [n.id, n.label]));
    this.cy.batch(() => {
      this.cy.nodes().forEach((n) => {
        if (!nodeIds.has(n.id())) {
          n.remove();
          changed = true;
        }
      });
      this.cy.edges().forEach((e) => {
        if (!edges.has(e.id())) e.remove();
      });
      const added: ElementDefinition[] = [];
      for (const n of snapshot.nodes) {
        if (this.cy.getElementById(n.id).empty()) added.push({ group: 'nodes', data: { id: n.id, display: n.label, sort: n.label } });
      }
      if (added.length > 0) {
        this.cy.add(added);
        changed = true;
      }
      for (const n of snapshot.nodes) {
        const node = this.cy.getElementById(n.id);
        node.classes([n.state, n.self ? 'self' : '', n.running === false ? 'stopped' : ''].filter(Boolean));
      }
      for (const [key, e] of edges) {
        const edge = this.cy.getElementById(key);
        if (edge.empty()) this.cy.add({ group: 'edges', data: { id: key, source: e.from, target: e.to } });
        this.cy.getElementById(key).toggleClass('queued', e.queued > 0);
      }
    });
    this.paintReach();
    if (changed) {
      this.cy
        .layout({ name: 'circle', animate: false, sort: (a, b) => String(a.data('sort')).localeCompare(String(b.data('sort')), undefined, { numeric: true }) })
        .run();
      this.cy.fit(undefined, 40);
    }
  }

  showReach(reach: Reach): void {
    this.reach = reach;
    this.paintReach();
  }

  private paintReach(): void {
    this.cy.batch(() => {
      this.cy.nodes().forEach((node) => {
        const id = node.id();
        const label = this.labels.get(id) ?? id.slice(0, 8);
        const isOrigin = this.reach.origin === id;
        const reached = this.reach.reached.has(id);
        const ms = this.reach.reached.get(id);
        node.toggleClass('origin', isOrigin);
        node.toggleClass('reached', reached && !isOrigin);
        node.data('display', isOrigin ? `${label}\npublished` : reached && ms !== undefined ? `${label}\n${latency(ms)}` : label);
      });
    });
  }
}
