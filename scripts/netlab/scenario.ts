// The lab's scenario, on peers already started in their namespaces: membership converges; the
// network splits into its two halves while both publish; it heals; every message reaches every
// host (push, then pull) and every view is whole again; one host's peer is killed with SIGKILL,
// is seen dead, restarts and rejoins, and catches up. Each step is timed on the Timeline; a step
// that does not happen within the step timeout fails the run with what was seen so far.
import type { LabNetwork } from './lab-network.js';
import type { LabPeer } from './lab-peer.js';
import { wallClock } from './protocol.js';
import { seconds, type Timeline } from './timeline.js';

export interface ScenarioOptions {
  /** How long both halves publish while split. */
  readonly partitionMs: number;
  /** Messages each half publishes per second while split. */
  readonly publishPerSecond: number;
  /** Longest any one step may take. */
  readonly stepTimeoutMs: number;
  /** Restarts a peer after it was killed (same host, address and identity). */
  readonly restart: (peer: LabPeer) => Promise<void>;
  /** Where a step that takes long says how far it got, every 5 s. */
  readonly progress?: (line: string) => void;
}

/** Figures of a run, for the report and the spec. */
export interface ScenarioFigures {
  convergedMs: number;
  splitSeenMs: number;
  publishedWhileSplit: number;
  /** Messages that crossed between the halves before the heal (must be 0: the split is real). */
  crossedWhileSplit: number;
  viewsWholeAfterHealMs: number;
  allDeliveredAfterHealMs: number;
  /** Deliveries across the halves after the heal, by how they arrived. */
  healedByPush: number;
  healedByPull: number;
  deadSeenMs: number;
  rejoinedMs: number;
  caughtUpMs: number;
  caughtUpByPull: number;
}

export async function runScenario(lab: LabNetwork, peers: readonly LabPeer[], timeline: Timeline, options: ScenarioOptions): Promise<ScenarioFigures> {
  const n = peers.length;
  const halfA = peers.filter((p) => p.host.half === 'a');
  const halfB = peers.filter((p) => p.host.half === 'b');
  const until = (condition: () => boolean, what: string, state: () => string): Promise<number> =>
    waitUntil(condition, options.stepTimeoutMs, what, state, options.progress);
  const f: Partial<ScenarioFigures> = {};
  let nextId = 0;
  const originOf = new Map<number, LabPeer>();
  const publish = (from: LabPeer): number => {
    const id = nextId++;
    originOf.set(id, from);
    from.send({ type: 'publish', id });
    return id;
  };
  const hasAll = (group: readonly LabPeer[], ids: readonly number[]): boolean => group.every((p) => ids.every((id) => p.delivered.has(id)));
  const missing = (group: readonly LabPeer[], ids: readonly number[]): string =>
    group
      .map((p) => `${p.name}:${ids.filter((id) => !p.delivered.has(id)).length}`)
      .filter((s) => !s.endsWith(':0'))
      .join(' ') || 'none';
  /** p's alive set is exactly `expected` minus itself. */
  const sees = (p: LabPeer, expected: readonly LabPeer[]): boolean => {
    const others = expected.filter((q) => q !== p);
    return p.alive.size === others.length && others.every((q) => p.alive.has(q.pkiId));
  };
  const whole = (): boolean => peers.every((p) => sees(p, peers));
  const viewSizes = (): string => peers.map((p) => `${p.name}:${p.alive.size}`).join(' ');

  // 1. Convergence.
  f.convergedMs = await until(whole, 'membership to converge', viewSizes);
  timeline.mark('converged', `all ${n} views whole (${n - 1} alive each)`, f.convergedMs);

  const baseline = peers.slice(0, Math.min(10, n)).map((p) => publish(p));
  const baselineMs = await until(() => hasAll(peers, baseline), 'the first messages to reach every host', () => missing(peers, baseline));
  timeline.mark('baseline delivered', `${baseline.length} messages at all ${n} hosts`, baselineMs);

  // 2. Partition, both halves publishing.
  const splitAt = wallClock();
  await lab.partition();
  timeline.mark('partitioned', `trunk down: ${halfA.length} hosts | ${halfB.length} hosts`);
  const idsA: number[] = [];
  const idsB: number[] = [];
  const interval = 1000 / options.publishPerSecond;
  const pick = (group: readonly LabPeer[]): LabPeer => group[Math.floor(Math.random() * group.length)]!;
  let splitSeen: number | undefined;
  const split = (): boolean => halfA.every((p) => sees(p, halfA)) && halfB.every((p) => sees(p, halfB));
  for (let k = 0; wallClock() - splitAt < options.partitionMs; k++) {
    idsA.push(publish(pick(halfA)));
    idsB.push(publish(pick(halfB)));
    if (splitSeen === undefined && split()) {
      splitSeen = wallClock() - splitAt;
      timeline.mark('split seen', `each half sees only itself alive (the other half dead)`, splitSeen);
    }
    const due = splitAt + (k + 1) * interval;
    await sleep(Math.max(0, due - wallClock()));
  }
  if (splitSeen === undefined) {
    await until(split, 'each half to see the other dead', viewSizes);
    splitSeen = wallClock() - splitAt;
    timeline.mark('split seen', `each half sees only itself alive`, splitSeen);
  }
  f.splitSeenMs = splitSeen;
  f.publishedWhileSplit = idsA.length + idsB.length;
  const publishedMs = wallClock() - splitAt;
  const withinMs = await until(
    () => hasAll(halfA, idsA) && hasAll(halfB, idsB),
    'each half to get its own messages',
    () => `${missing(halfA, idsA)} | ${missing(halfB, idsB)}`,
  );
  timeline.mark(
    'published while split',
    `${idsA.length} + ${idsB.length} messages; each at every host of its own half ${seconds(withinMs)} after the last`,
    publishedMs,
  );

  // 3. Heal.
  const healAt = wallClock();
  f.crossedWhileSplit =
    halfA.reduce((c, p) => c + idsB.filter((id) => (p.delivered.get(id)?.at ?? Infinity) < healAt).length, 0) +
    halfB.reduce((c, p) => c + idsA.filter((id) => (p.delivered.get(id)?.at ?? Infinity) < healAt).length, 0);
  await lab.heal();
  timeline.mark('healed', `trunk up after ${seconds(healAt - splitAt)}; ${f.crossedWhileSplit} messages had crossed while split`);
  const all = [...originOf.keys()];
  let viewsWhole: number | undefined;
  let delivered: number | undefined;
  await until(
    () => {
      if (viewsWhole === undefined && whole()) viewsWhole = wallClock() - healAt;
      if (delivered === undefined && hasAll(peers, all)) delivered = wallClock() - healAt;
      return viewsWhole !== undefined && delivered !== undefined;
    },
    'views to be whole and every message everywhere',
    () => `views ${viewSizes()}; missing ${missing(peers, all)}`,
  );
  f.viewsWholeAfterHealMs = viewsWhole!;
  f.allDeliveredAfterHealMs = delivered!;
  let byPush = 0;
  let byPull = 0;
  for (const [group, ids] of [
    [halfA, idsB],
    [halfB, idsA],
  ] as const) {
    for (const p of group) for (const id of ids) (p.delivered.get(id)!.by === 'pull' ? byPull++ : byPush++);
  }
  f.healedByPush = byPush;
  f.healedByPull = byPull;
  const steps = [
    { at: viewsWhole!, step: 'views whole', detail: `all ${n} views whole again` },
    { at: delivered!, step: 'all delivered', detail: `${all.length} messages at all ${n} hosts; across the split ${byPush} by push, ${byPull} by pull` },
  ].sort((a, b) => a.at - b.at);
  for (const s of steps) timeline.mark(s.step, s.detail, s.at, healAt + s.at);

  // 4. A host's peer killed with SIGKILL, then restarted.
  const victim = peers[n - 1]!;
  const others = peers.filter((p) => p !== victim);
  const killedAt = wallClock();
  await victim.kill();
  timeline.mark('killed', `${victim.name} (${victim.host.address}) kill -9`);
  await until(
    () => others.every((p) => p.dead.has(victim.pkiId) && !p.alive.has(victim.pkiId)),
    `${victim.name} to be seen dead`,
    () => `${others.filter((p) => p.dead.has(victim.pkiId)).length}/${others.length} see it dead`,
  );
  f.deadSeenMs = wallClock() - killedAt;
  timeline.mark('dead seen', `every other host has ${victim.name} dead`, f.deadSeenMs);
  const whileDown = others.slice(0, 10).map((p) => publish(p));
  await until(() => hasAll(others, whileDown), 'messages published while it is down', () => missing(others, whileDown));
  const restartAt = wallClock();
  await options.restart(victim);
  timeline.mark('restarted', `${victim.name} on ${victim.endpoint}, same identity`, wallClock() - restartAt);
  await until(
    () => others.every((p) => p.alive.has(victim.pkiId)) && sees(victim, peers),
    `${victim.name} to rejoin`,
    () => `${others.filter((p) => p.alive.has(victim.pkiId)).length}/${others.length} see it alive; it sees ${victim.alive.size}`,
  );
  f.rejoinedMs = wallClock() - restartAt;
  timeline.mark('rejoined', `alive in all ${n - 1} other views, its own view whole`, f.rejoinedMs);
  const everything = [...originOf.keys()];
  await until(() => hasAll([victim], everything), `${victim.name} to catch up`, () => missing([victim], everything));
  f.caughtUpMs = wallClock() - restartAt;
  f.caughtUpByPull = [...victim.delivered.values()].filter((d) => d.by === 'pull').length;
  timeline.mark('caught up', `${victim.name} holds all ${everything.length} messages (${f.caughtUpByPull} by pull)`, f.caughtUpMs);
  if (!whole()) throw new Error(`views not whole at the end: ${viewSizes()}`);
  return f as ScenarioFigures;
}

/** Polls `condition` every 20 ms; resolves with the ms it took, or rejects after `timeoutMs` describing `state()`. */
async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  state: () => string,
  progress?: (line: string) => void,
): Promise<number> {
  const started = wallClock();
  let shown = started;
  while (!condition()) {
    if (wallClock() - started > timeoutMs) throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}: ${state()}`);
    if (progress && wallClock() - shown >= 5_000) {
      shown = wallClock();
      progress(`         waiting ${seconds(shown - started)} for ${what}: ${state()}`);
    }
    await sleep(20);
  }
  return wallClock() - started;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
