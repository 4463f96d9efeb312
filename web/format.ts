// Small text helpers shared by the page's views.

/** "0.4 s ago", "12 s ago", "3 min ago"; an em dash when never. */
export function ago(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s ago`;
  if (s < 120) return `${Math.round(s)} s ago`;
  return `${Math.round(s / 60)} min ago`;
}

/** A rate with a sensible number of digits; an em dash when unknown. */
export function rate(perSec: number | undefined): string {
  if (perSec === undefined) return '—';
  return perSec >= 100 ? String(Math.round(perSec)) : perSec.toFixed(1);
}

/** Latency in ms, rounded for display. */
export function latency(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Finds an element the page's HTML is known to have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}
