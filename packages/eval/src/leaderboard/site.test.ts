import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { validResults } from '../../test/fixtures.js';
import type { EvalResults } from '../results/schema.js';
import { escapeHtml, renderLeaderboardHtml } from './site.js';

let good: EvalResults;

describe('leaderboard page', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await validResults();
  });

  it('escapeHtml covers the five dangerous characters and the backtick', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;');
  });

  it('escapes a malicious model name everywhere it appears (table, chart legend, tooltips)', () => {
    const evil = `</td><script>alert("pwned")</script><img src=x onerror=alert(1)>"'`;
    const r: EvalResults = {
      ...good,
      model: { ...good.model, name: evil },
      backend: '<b>cpu</b>',
      metrics: { ...good.metrics, speed: { ...good.metrics.speed!, backend: '<b>cpu</b>' } },
    };
    const html = renderLeaderboardHtml([{ id: 'abcdef0123456789', addedAt: '2026-01-01T00:00:00.000Z', results: r }]);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>cpu');
    expect(html.match(/<script>/g)).toHaveLength(1); // ours: the sorter
    expect(html).toContain('&#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62;');
    expect(html.split('&#60;/td&#62;&#60;script&#62;').length - 1).toBeGreaterThanOrEqual(3); // cell, legend, tooltips
  });

  it('one row per submission; standard and non-standard realism in separate columns; per-group SVG charts; a CSP', () => {
    const std: EvalResults = JSON.parse(JSON.stringify(good));
    std.metrics.realism!.extractor = { name: 'inception', standard: true, dims: 2048, weightsSha256: 'c'.repeat(64) };
    const html = renderLeaderboardHtml([
      { id: 'a'.repeat(16), addedAt: '2026-01-01T00:00:00.000Z', results: good },
      { id: 'b'.repeat(16), addedAt: '2026-01-02T00:00:00.000Z', results: std },
    ]);
    expect(html.match(/<tr id="e-/g)).toHaveLength(2);
    expect(html).toContain('Realism, standard (Inception)');
    expect(html).toContain('Realism, other features (not comparable)');
    const rows = html.split('<tr id="e-').slice(1);
    // first row: non-standard FID filled, standard empty; second row the other way round
    const cells = (row: string, cls: string) => [...row.matchAll(new RegExp(`<td class="n ${cls}" data-v="([^"]*)"`, 'g'))].map((m) => m[1]);
    expect(cells(rows[0]!, 'std')).toEqual(['', '']);
    expect(cells(rows[0]!, 'nonstd').every((v) => v !== '')).toBe(true);
    expect(cells(rows[1]!, 'nonstd')).toEqual(['', '']);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain(`default-src 'none'`);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
