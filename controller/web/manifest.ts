/**
 * @module
 * Every file the web pages need, by URL path, and the source it is made from. Paths are referenced relatively
 * from the pages (`assets/...`), so the pages also work under a path prefix.
 */

/** How an asset is made. Paths are relative to the repository root, packages resolve from node_modules. */
export type AssetRecipe =
  | { readonly file: string }
  /** A browser script: the entry and everything it imports, bundled and minified by esbuild. */
  | { readonly script: string }
  /** A file shipped in an npm package (`package/path`). */
  | { readonly packageFile: string };

/** A file as its source or build step produced it: the table entry before hashing and compression. */
export interface WebAssetSource {
  /** URL path, e.g. `/assets/playground.js`. */
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

export interface AssetEntry {
  readonly path: string;
  readonly contentType: string;
  readonly from: AssetRecipe;
}

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The route paths of the two pages (served with the page CSP). */
export const DOCS_PAGE = '/';
export const PLAYGROUND_PAGE = '/playground';
export const FAVICON = '/favicon.svg';

export const WEB_ASSETS: readonly AssetEntry[] = [
  { path: DOCS_PAGE, contentType: HTML, from: { file: 'controller/web/docs/index.html' } },
  { path: '/assets/docs.js', contentType: JS, from: { script: 'controller/web/docs/init.ts' } },
  { path: '/assets/docs.css', contentType: CSS, from: { file: 'controller/web/docs/docs.css' } },
  {
    path: '/assets/swagger-ui/swagger-ui-bundle.js',
    contentType: JS,
    from: { packageFile: 'swagger-ui-dist/swagger-ui-bundle.js' },
  },
  {
    path: '/assets/swagger-ui/swagger-ui-bundle.js.LICENSE.txt',
    contentType: 'text/plain; charset=utf-8',
    from: { packageFile: 'swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt' },
  },
  {
    path: '/assets/swagger-ui/swagger-ui.css',
    contentType: CSS,
    from: { packageFile: 'swagger-ui-dist/swagger-ui.css' },
  },
  { path: PLAYGROUND_PAGE, contentType: HTML, from: { file: 'controller/playground/index.html' } },
  {
    path: '/assets/playground.js',
    contentType: JS,
    from: { script: 'controller/playground/client/main.ts' },
  },
  {
    path: '/assets/playground.css',
    contentType: CSS,
    from: { file: 'controller/playground/styles.css' },
  },
  { path: FAVICON, contentType: 'image/svg+xml', from: { file: 'controller/web/favicon.svg' } },
];
