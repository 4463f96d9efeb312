// The lab's network: one network namespace per host, joined at layer 2 through a hub namespace
// that holds two bridges (one per half of the hosts) linked by a veth "trunk". Partitioning takes
// the trunk down: each half still reaches its own members, not the other half's. Nothing is
// created in the namespace this process runs in: the bridges live in the hub, and the only
// addresses (one private /24) exist only inside the lab's namespaces, so no packet of the lab
// can leave them.
import { ip, ipSync, parseNetnsList } from './ip.js';

/** Every namespace of the lab is named `rxgl-<pid of the orchestrator>-...`. */
export const LAB_PREFIX = 'rxgl-';
/** The lab's private subnet (used only inside its namespaces); host i is .(i+1). */
export const LAB_SUBNET = '10.213.7';

/** One host of the lab. */
export interface LabHost {
  readonly index: number;
  /** Its network namespace. */
  readonly netns: string;
  /** Its address on the lab's /24. */
  readonly address: string;
  /** Which side of a partition it is on. */
  readonly half: 'a' | 'b';
}

export class LabNetwork {
  readonly hosts: readonly LabHost[];
  readonly hub: string;
  private partitioned = false;
  private destroyed = false;

  private constructor(
    readonly prefix: string,
    count: number,
  ) {
    this.hub = `${prefix}hub`;
    const halfA = Math.ceil(count / 2);
    this.hosts = Array.from({ length: count }, (_, index) => ({
      index,
      netns: `${prefix}h${index}`,
      address: `${LAB_SUBNET}.${index + 1}`,
      half: index < halfA ? ('a' as const) : ('b' as const),
    }));
  }

  /**
   * Creates the hub (bridges brA and brB, trunk up) and `count` host namespaces, each with `eth0`
   * on its half's bridge. On failure, removes whatever was created and rethrows.
   */
  static async create(count: number, owner = process.pid): Promise<LabNetwork> {
    if (!Number.isInteger(count) || count < 2 || count > 200) throw new RangeError('the lab takes 2..200 hosts');
    const lab = new LabNetwork(`${LAB_PREFIX}${owner}-`, count);
    try {
      await lab.createHub();
      await Promise.all(lab.hosts.map((h) => lab.createHost(h)));
    } catch (err: unknown) {
      lab.destroySync();
      throw err;
    }
    return lab;
  }

  /** The namespaces this lab made (hub first). */
  get namespaces(): string[] {
    return [this.hub, ...this.hosts.map((h) => h.netns)];
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** Takes the trunk between the halves down (both of its ends). */
  async partition(): Promise<void> {
    await ip('-n', this.hub, 'link', 'set', 'ta', 'down');
    await ip('-n', this.hub, 'link', 'set', 'tb', 'down');
    this.partitioned = true;
  }

  /** Brings the trunk back up. */
  async heal(): Promise<void> {
    await ip('-n', this.hub, 'link', 'set', 'ta', 'up');
    await ip('-n', this.hub, 'link', 'set', 'tb', 'up');
    this.partitioned = false;
  }

  /**
   * Kills whatever still runs in the lab's namespaces and deletes them (which removes their
   * links and bridges). Synchronous so that it also works from an 'exit' handler. Idempotent.
   */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    removeNamespaces(this.namespaces.filter((ns) => existingNamespaces().includes(ns)));
  }

  private async createHub(): Promise<void> {
    const hub = this.hub;
    await ip('netns', 'add', hub);
    for (const br of ['brA', 'brB']) {
      await ip('-n', hub, 'link', 'add', br, 'type', 'bridge');
      await ip('-n', hub, 'link', 'set', br, 'up');
    }
    await ip('-n', hub, 'link', 'add', 'ta', 'type', 'veth', 'peer', 'name', 'tb');
    await ip('-n', hub, 'link', 'set', 'ta', 'master', 'brA');
    await ip('-n', hub, 'link', 'set', 'tb', 'master', 'brB');
    await ip('-n', hub, 'link', 'set', 'ta', 'up');
    await ip('-n', hub, 'link', 'set', 'tb', 'up');
  }

  private async createHost(host: LabHost): Promise<void> {
    const port = `v${host.index}`;
    await ip('netns', 'add', host.netns);
    await ip('-n', this.hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns);
    await ip('-n', this.hub, 'link', 'set', port, 'master', host.half === 'a' ? 'brA' : 'brB');
    await ip('-n', this.hub, 'link', 'set', port, 'up');
    await ip('-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    await ip('-n', host.netns, 'link', 'set', 'eth0', 'up');
    await ip('-n', host.netns, 'link', 'set', 'lo', 'up');
  }
}

/** Names of the network namespaces that exist now. */
export function existingNamespaces(): string[] {
  try {
    return parseNetnsList(ipSync('netns', 'list'));
  } catch {
    return [];
  }
}

/**
 * Removes the namespaces of labs whose orchestrator is gone (a crashed or killed run): those
 * named `rxgl-<pid>-...` where no process `pid` exists. Returns the names removed.
 */
export function removeLeftovers(): string[] {
  const stale = existingNamespaces().filter((ns) => {
    const owner = /^rxgl-(\d+)-/.exec(ns)?.[1];
    return owner !== undefined && !processExists(Number(owner));
  });
  removeNamespaces(stale);
  return stale;
}

function removeNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    // A process still inside keeps the namespace alive after `netns del`: kill it first.
    let pids: number[] = [];
    try {
      pids = ipSync('netns', 'pids', ns).split('\n').filter(Boolean).map(Number);
    } catch {
      // Already gone.
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    try {
      ipSync('netns', 'del', ns);
    } catch {
      // Already gone.
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
