import { defineConfig } from 'tsup';
import { baseTsupOptions } from '../../tsup.base.js';

// The model folder is found from the URL of the module that holds utkfaceModelUrl (`../model/`): that is
// src/index.ts from source, and a chunk in dist/ when built (both entries import it), one level below
// the package root either way.
export default defineConfig({ ...baseTsupOptions, entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' } });
