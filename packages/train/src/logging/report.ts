import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsStore } from '@ragan/core/node';
import { readMetrics } from './metrics.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** An SVG line chart of several series over steps (no external resources). */
function lineChart(title: string, series: Array<{ name: string; points: Array<[number, number]> }>, width = 640, height = 260): string {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return '';
  const pad = { l: 56, r: 120, t: 28, b: 32 };
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
  const lines = series
    .map((s, i) => {
      const pts = s.points
        .filter((p) => Number.isFinite(p[1]))
        .map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
        .join(' ');
      const c = colours[i % colours.length];
      return (
        `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts}"/><text x="${width - pad.r + 8}" y="${pad.t + 14 * i + 4}" fill="${c}" ` +
        `font-size="12">${esc(s.name)}</text>`
      );
    })
    .join('');
  const ticks = [y0, (y0 + y1) / 2, y1]
    .map((v) => `<text x="${pad.l - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11">${v.toPrecision(3)}</text>`)
    .join('');
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">
<text x="${pad.l}" y="16" font-size="14" font-weight="600">${esc(title)}</text>
<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#888"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#888"/>
<text x="${pad.l}" y="${height - 10}" font-size="11">step ${x0}</text>
<text x="${width - pad.r}" y="${height - 10}" font-size="11" text-anchor="end">step ${x1}</text>
${ticks}${lines}</svg></figure>`;
}

/**
 * Writes RUN/report.html: loss curves (D, G terms, throughput) as inline SVG and the newest sample
 * grids. Returns the file's path.
 */
export async function writeReport(runDir: string, opts: { grids?: number } = {}): Promise<string> {
  const rows = (await readMetrics(join(runDir, 'metrics.jsonl'))).filter((r) => !('event' in r)) as Array<Record<string, number>>;
  const events = (await readMetrics(join(runDir, 'metrics.jsonl'))).filter((r) => 'event' in r);
  let config = '';
  try {
    config = await readFile(join(runDir, 'config.json'), 'utf8');
  } catch {
    config = '(no config.json)';
  }
  const series = (keys: string[]) =>
    keys
      .filter((k) => rows.some((r) => typeof r[k] === 'number'))
      .map((k) => ({ name: k, points: rows.filter((r) => typeof r[k] === 'number').map((r) => [r.step!, r[k]!] as [number, number]) }));
  const logSeries = (keys: string[]) =>
    series(keys).map((s) => ({ name: s.name, points: s.points.filter((p) => p[1] > 0).map(([x, y]) => [x, Math.log10(y)] as [number, number]) }));
  const charts = [
    lineChart('Discriminator', series(['d_total', 'd_adv', 'd_r1'])),
    lineChart('Generator: adversarial and age', series(['g_adv', 'g_age', 'g_id_feature', 'g_id_network'])),
    lineChart('Generator: reconstruction and cycle (L1)', series(['g_rec', 'g_cyc'])),
    lineChart('Throughput (images/s)', series(['imagesPerSecond'])),
    lineChart('Step time by phase (ms): D step, G forward and backward, G Adam and EMA', series(['msD', 'msG', 'msAdam'])),
    lineChart('Largest absolute gradient, log10 (D, G)', logSeries(['gradMaxD', 'gradMaxG'])),
  ].join('\n');
  // the fixed test faces measured during training (evalEvery): what recipes and checkpoints are chosen by
  const evals = (await readMetrics(join(runDir, 'evals.jsonl'))) as Array<Record<string, number | null>>;
  const evalSeries = (keys: string[], rename: (k: string) => string = (k) => k) =>
    keys
      .filter((k) => evals.some((r) => typeof r[k] === 'number'))
      .map((k) => ({ name: rename(k), points: evals.filter((r) => typeof r[k] === 'number').map((r) => [r.step!, r[k]!] as [number, number]) }));
  const ageKeys = evals.length ? Object.keys(evals[0]!).filter((k) => k.startsWith('age:')) : [];
  const evalCharts = evals.length
    ? [
        lineChart('Age hit rate, within one group, identity kept (face-api)', evalSeries(['hitRate', 'withinOne', 'identityShare', 'inputsHitRate'])),
        lineChart(
          'Mean estimated age of the outputs, per target group',
          evalSeries(ageKeys, (k) => k.slice(4)),
        ),
        ...(evals.some((r) => typeof r.brightCue === 'number')
          ? [lineChart('Share of the face painted darker/brighter (brightCue) or recoloured (colourCue)', evalSeries(['brightCue', 'colourCue']))]
          : []),
      ].join('\n')
    : '';
  let grids: string[] = [];
  try {
    grids = (await readdir(join(runDir, 'samples')))
      .filter((f) => /^step-\d+\.png$/.test(f))
      .sort((a, b) => Number(b.slice(5, -4)) - Number(a.slice(5, -4)))
      .slice(0, opts.grids ?? 3);
  } catch {
    grids = [];
  }
  const last = rows.at(-1);
  const eventList = events.length ? `; events: ${events.map((e) => esc(`${(e as { event: string }).event} at step ${e.step}`)).join(', ')}` : '';
  const evalSection = evalCharts
    ? `<h2>Evaluation during training</h2><p>${esc(String(evals.at(-1)?.faces ?? ''))} fixed test faces re-aged to every other group at each ` +
      `point; face-api's age regressor and 128-D embedding (evals.jsonl).</p>${evalCharts}`
    : '';
  const gridFigures =
    grids.map((g) => `<figure><img src="samples/${esc(g)}" alt="${esc(g)}"><figcaption>${esc(g)}</figcaption></figure>`).join('\n') ||
    '<p>No sample grids yet.</p>';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>RAGAN run report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px}figure{margin:12px 0}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:300px}
</style></head><body>
<h1>RAGAN run report</h1>
<p>${rows.length} logged steps${last ? `, last step ${last.step}` : ''}${eventList}.</p>
<h2>Losses</h2>${charts || '<p>No steps logged yet.</p>'}
${evalSection}
<h2>Samples</h2><p>Each row: the input face, then the face re-aged to every age group, youngest first (EMA generator).</p>
${gridFigures}
<h2>Config</h2><pre>${esc(config)}</pre></body></html>\n`;
  await fsStore(runDir).write('report.html', new TextEncoder().encode(html));
  return join(runDir, 'report.html');
}
