// CommonJS: require() of the ESM package (Node >= 20.19 loads ESM from require).
const rxgossip = require('rxgossip');
const metrics = require('rxgossip/metrics');
process.stdout.write(`${JSON.stringify({ createComm: typeof rxgossip.createComm, serveMetrics: typeof metrics.serveMetrics })}\n`);
