import { readFile } from 'node:fs/promises';
import { UiAssetsMissingError } from '../errors.js';

/** A file the page is made of, held in memory (the bundle is a few hundred kB). */
export interface UiAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The files `npm run build:ui` writes into lib/ui/assets/, by the URL path they are served at. */
const FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8' },
  '/assets/LICENSES.txt': { file: 'LICENSES.txt', contentType: 'text/plain; charset=utf-8' },
};

/**
 * The page's assets, next to this module: lib/ui/assets/ when run from source, dist/ui/assets/
 * once compiled (the build copies the folder). Nothing comes from a CDN: the page works on an
 * isolated network. Rejects with UiAssetsMissingError when they were not built.
 */
export async function loadUiAssets(dir: URL = new URL('./assets/', import.meta.url)): Promise<ReadonlyMap<string, UiAsset>> {
  const assets = new Map<string, UiAsset>();
  for (const [path, { file, contentType }] of Object.entries(FILES)) {
    try {
      assets.set(path, { body: await readFile(new URL(file, dir)), contentType });
    } catch (err: unknown) {
      throw new UiAssetsMissingError(
        `the live page's ${file} is missing from ${dir.pathname}: run \`npm run build:ui\` (a source checkout) or reinstall the package`,
        { cause: err },
      );
    }
  }
  return assets;
}
