// A remote peer that freezes (SIGSTOP: its process neither reads nor closes its sockets, as a
// peer stuck in a long GC pause, swapped out or deadlocked) must not keep our process alive once
// our comm has stopped: Comm.stop() promises that "afterwards the process can exit".
// Each case runs our comm in a child process (started with --natural-exit: after stop() it
// prints what is left and must exit by itself) and the frozen peer in another.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../helpers/peers.js';
import { ChildPeer } from './child-peer.js';

const EXIT_LIMIT_MS = 5_000;
const children: ChildPeer[] = [];

function child(options: ConstructorParameters<typeof ChildPeer>[0]): ChildPeer {
  const c = new ChildPeer(options);
  children.push(c);
  return c;
}

after(async () => {
  for (const c of children) if (c.alive) c.proc.kill('SIGCONT');
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
});

/** Stops `ours` (with `frozen` SIGSTOPped first if asked) and returns how it exited, or 'alive'. */
async function stopAndWatchExit(ours: ChildPeer, frozen: ChildPeer, freeze: boolean): Promise<string | number | null> {
  if (freeze) frozen.proc.kill('SIGSTOP');
  await sleep(50);
  ours.requestStop();
  const exit = await Promise.race([ours.exited, sleep(EXIT_LIMIT_MS).then(() => 'alive' as const)]);
  return exit;
}

async function untilReceived(c: ChildPeer, seq: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!c.received.includes(seq)) {
    if (Date.now() > deadline) throw new Error(`seq ${seq} never arrived (stderr: ${c.stderr})`);
    await sleep(20);
  }
}

describe('after stop(), the process exits by itself', () => {
  it('when the remote that dialed us is alive (control)', async () => {
    const ours = child({ name: 'peer0', naturalExit: true });
    const us = await ours.ready;
    const remote = child({ name: 'peer1', dial: us });
    await remote.ready;
    await untilReceived(ours, 0);
    const exit = await stopAndWatchExit(ours, remote, false);
    assert.equal(exit, 0, `left after stop(): ${JSON.stringify(ours.resourcesAfterStop)}`);
  });

  it('when a remote we dialed froze (SIGSTOP)', async () => {
    const remote = child({ name: 'peer1' });
    const them = await remote.ready;
    const ours = child({ name: 'peer0', naturalExit: true, dial: them });
    await ours.ready;
    await untilReceived(remote, 0);
    const exit = await stopAndWatchExit(ours, remote, true);
    assert.equal(exit, 0, `left after stop(): ${JSON.stringify(ours.resourcesAfterStop)}`);
  });

  it('when a remote that dialed us froze (SIGSTOP)', async () => {
    const ours = child({ name: 'peer0', naturalExit: true });
    const us = await ours.ready;
    const remote = child({ name: 'peer1', dial: us });
    await remote.ready;
    await untilReceived(ours, 0);
    const exit = await stopAndWatchExit(ours, remote, true);
    assert.equal(
      exit,
      0,
      `our process was still running ${EXIT_LIMIT_MS} ms after stop(); left: ${JSON.stringify(ours.resourcesAfterStop)}`,
    );
  });
});
