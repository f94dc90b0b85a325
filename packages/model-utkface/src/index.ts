// @ragan/model-utkface: browser-safe entry (no Node built-ins). The Node helpers (the folder's path,
// loadUtkfaceGenerator) are in '@ragan/model-utkface/node'.

/** The model's name. @ragan/cli calls it the bundled model (`ragan age --model bundled`). */
export const UTKFACE_MODEL_NAME = 'utkface-tiny';

/**
 * The model folder of this package (`model/`: manifest.json, generator.bin, MODEL_CARD.md, LICENSE),
 * as a URL ending in `/`, found from this module's own URL: a `file:` URL in Node, and the package's
 * served location wherever its files are served as published (an npm CDN, or an app that serves
 * node_modules unbundled). Give it to core's `httpStore` (`httpStore(utkfaceModelUrl().href)`).
 *
 * A bundler that moves this module (Vite's dependency pre-bundling, a production bundle) breaks the
 * relation: the folder is not a module, so no bundler copies it. There, copy `manifest.json` and
 * `generator.bin` into your static files and give `httpStore` their URL.
 *
 * A new URL on every call (URL objects are mutable).
 */
export function utkfaceModelUrl(): URL {
  return new URL('../model/', import.meta.url);
}
