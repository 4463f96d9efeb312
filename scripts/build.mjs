// npm run build: lib/ -> dist/. tsc compiles the TypeScript; files tsc does not emit (the
// generated protobuf code, which is JavaScript with its own .d.ts, and any static assets) are
// copied beside the output so dist/ mirrors lib/.
// Status lines go to stderr: npm pack runs this as prepack, and its stdout is npm pack --json's.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

let copied = 0;
(function copyNonTs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      copyNonTs(path);
    } else if (!name.endsWith('.ts') || name.endsWith('.d.ts')) {
      const target = join(dist, relative(lib, path));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
      copied++;
    }
  }
})(lib);
process.stderr.write(`built dist/ (tsc, plus ${copied} files copied from lib/)\n`);
