// npm run build:ui: builds the live page (web/) into lib/ui/assets/, the folder lib/ui serves at
// run time and the package build copies next to the compiled ui module. The browser code and
// the graph library (cytoscape) are bundled into one file, so the page needs nothing from the
// internet; the licences of what was bundled go into LICENSES.txt beside it.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const web = join(root, 'web');
const out = join(root, 'lib', 'ui', 'assets');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [join(web, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'none', // collected into LICENSES.txt below instead
  metafile: true,
  logLevel: 'warning',
});
await copyFile(join(web, 'index.html'), join(out, 'index.html'));
await copyFile(join(web, 'style.css'), join(out, 'style.css'));

// Every npm package that ended up in the bundle, with its licence text.
const packages = new Set<string>();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(match[1]!);
}
const sections: string[] = ['The live page (app.js) bundles these packages:\n'];
for (const name of [...packages].sort()) {
  const dir = join(root, 'node_modules', name);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string };
  const licence = await readFile(join(dir, 'LICENSE'), 'utf8').catch(() => `(${pkg.license ?? 'unknown'} licence; no LICENSE file shipped)`);
  sections.push(`== ${name} ${pkg.version} (${pkg.license ?? 'unknown'}) ==\n\n${licence.trim()}\n`);
}
await writeFile(join(out, 'LICENSES.txt'), sections.join('\n'));
const size = result.metafile.outputs[join('lib', 'ui', 'assets', 'app.js')]?.bytes ?? 0;
console.error(`built ${dirname(join(out, 'app.js')).slice(root.length + 1)}/ (app.js ${(size / 1024).toFixed(0)} kB; bundles ${[...packages].join(', ')})`);
