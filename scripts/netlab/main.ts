// `npm run netlab -- [--hosts 20] [--partition-s 30] [--rate 10] [--step-timeout-s 60]`
//
// A multi-host gossip lab in Linux network namespaces (needs root): one rxgossip peer per
// namespace on its own address, a partition into two halves while both publish, the heal, a
// kill -9 and restart; prints the timeline and exits 0 when every step held. Removes everything
// it created on exit, failure or Ctrl-C, and whatever a crashed earlier run left.
import { parseArgs } from 'node:util';
import { runNetlab } from './netlab.js';
import { NeedsRootError } from './needs-root.js';
import { seconds } from './timeline.js';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20' },
    'partition-s': { type: 'string', default: '30' },
    rate: { type: 'string', default: '10' },
    'step-timeout-s': { type: 'string', default: '60' },
  },
});
const hosts = Number(args.hosts);
const partitionMs = Number(args['partition-s']) * 1000;
if (!(Number.isInteger(hosts) && hosts >= 2 && hosts <= 200)) throw new RangeError('--hosts must be 2..200');
if (!(partitionMs > 0)) throw new RangeError('--partition-s must be positive');

console.log(`netlab: ${hosts} hosts, ${partitionMs / 1000} s partition, ${args.rate} msg/s per half while split`);
let exitCode = 1;
try {
  const result = await runNetlab({
    hosts,
    partitionMs,
    publishPerSecond: Number(args.rate),
    stepTimeoutMs: Number(args['step-timeout-s']) * 1000,
  });
  console.log(`\n${result.timeline.table()}\n`);
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
