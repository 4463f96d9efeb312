// `npm run netlab -- [--hosts 20] [--partition-s 30] [--rate 10] [--step-timeout-s 60] [--fast]
//                    [--bootstrap all|two]`
//
// A multi-host gossip lab in Linux network namespaces (needs root): one rxgossip peer per
// namespace on its own address, a partition into two halves while both publish, the heal, a
// kill -9 and restart; prints the timeline and exits 0 when every step held. Removes everything
// it created on exit, failure or Ctrl-C, and whatever a crashed earlier run left.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { FAST_LAB_TIMINGS, LAB_TIMINGS, runNetlab } from './netlab.js';
import { NeedsRootError } from './needs-root.js';
import { seconds } from './timeline.js';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20' },
    'partition-s': { type: 'string', default: '30' },
    rate: { type: 'string', default: '10' },
    'step-timeout-s': { type: 'string', default: '60' },
    fast: { type: 'boolean', default: false },
    bootstrap: { type: 'string', default: 'all' },
  },
});
const hosts = Number(args.hosts);
const partitionMs = Number(args['partition-s']) * 1000;
if (!(Number.isInteger(hosts) && hosts >= 2 && hosts <= 200)) throw new RangeError('--hosts must be 2..200');
if (!(partitionMs > 0)) throw new RangeError('--partition-s must be positive');
if (args.bootstrap !== 'all' && args.bootstrap !== 'two') throw new RangeError('--bootstrap must be all or two');

const t = args.fast ? FAST_LAB_TIMINGS : LAB_TIMINGS;
console.log(
  `netlab: ${hosts} hosts, ${partitionMs / 1000} s partition, ${args.rate} msg/s per half while split; alive every ${t.aliveIntervalMs} ms, ` +
    `dead after ${t.aliveExpirationMs} ms, reconnect every ${t.reconnectIntervalMs} ms, pull every ${t.pullIntervalMs} ms, dial timeout ${t.dialTimeoutMs} ms`,
);
let exitCode = 1;
try {
  const result = await runNetlab({
    hosts,
    partitionMs,
    publishPerSecond: Number(args.rate),
    stepTimeoutMs: Number(args['step-timeout-s']) * 1000,
    timings: args.fast ? FAST_LAB_TIMINGS : LAB_TIMINGS,
    bootstrap: args.bootstrap === 'two' ? 'two' : 'all',
  });
  console.log(`\n${result.timeline.table()}\n`);
  // The machine's load says how much of the timings is the lab and how much is waiting for a core.
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const f = result.figures;
  if (f) {
    console.log(
      `converged ${seconds(f.convergedMs)}; split seen ${seconds(f.splitSeenMs)} after the links went down; ${f.publishedWhileSplit} messages published while split, ` +
        `${f.crossedWhileSplit} crossed; after the heal: views whole ${seconds(f.viewsWholeAfterHealMs)}, all delivered ${seconds(f.allDeliveredAfterHealMs)} ` +
        `(${f.healedByPush} by push, ${f.healedByPull} by pull); kill -9: dead seen ${seconds(f.deadSeenMs)}, rejoined ${seconds(f.rejoinedMs)} after restart, ` +
        `caught up ${seconds(f.caughtUpMs)} (${f.caughtUpByPull} by pull)`,
    );
  }
  const failures = [
    ...(result.error ? [result.error.message] : []),
    ...(f && f.crossedWhileSplit > 0 ? [`${f.crossedWhileSplit} messages crossed the partition`] : []),
    ...(result.leftAfter.length > 0 ? [`namespaces left: ${result.leftAfter.join(' ')}`] : []),
  ];
  console.log(failures.length === 0 ? `PASS netlab ${hosts} hosts` : `FAIL netlab ${hosts} hosts: ${failures.join('; ')}`);
  exitCode = failures.length === 0 ? 0 : 1;
} catch (err: unknown) {
  if (!(err instanceof NeedsRootError)) throw err;
  console.error(`FAIL ${err.message}`);
  exitCode = 2;
}
process.exitCode = exitCode;
