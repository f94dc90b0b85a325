import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATA_VERSION } from './version.js';

describe('DATA_VERSION', () => {
  it('equals package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(DATA_VERSION).toBe(pkg.version);
  });
});
