import type { EvalResults } from '../results/schema.js';

/** Escapes text for HTML element content and quoted attribute values. Everything from a submission goes through it. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface SiteEntry {
  id: string;
  addedAt: string;
  results: EvalResults;
}

// Okabe–Ito palette (colour-blind safe), then repeats with dashes.
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

interface Column {
  label: string;
  title: string;
  /** Numeric sort key (undefined sorts last) and display text. */
  value: (r: EvalResults) => number | null | undefined;
  digits: number;
  better?: 'higher' | 'lower';
  group: 'model' | 'age' | 'identity' | 'std' | 'nonstd' | 'other';
}

/** Hashes shortened for the table (the full value is in the tooltip); long baseline labels cut too. */
const shortHash = (h: string) => (h.startsWith('baseline:') ? (h.length > 24 ? `${h.slice(0, 23)}…` : h) : `${h.slice(0, 12)}…`);
/** digits < 0: that many significant digits (FID/KID, whose scale depends on the feature space). */
const num = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined ? '–' : digits < 0 ? (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(-digits)) : v.toFixed(digits);
const stdRealism = (r: EvalResults) => (r.metrics.realism?.extractor.standard ? r.metrics.realism : undefined);
const nonStdRealism = (r: EvalResults) => (r.metrics.realism && !r.metrics.realism.extractor.standard ? r.metrics.realism : undefined);

const COLUMNS: Column[] = [
  { label: 'faces', title: 'test faces evaluated', value: (r) => r.dataset.evaluated, digits: 0, group: 'model' },
  {
    label: 'hit rate',
    title: 'share of outputs whose estimated age is in the target group',
    value: (r) => r.metrics.age?.hitRate,
    digits: 3,
    better: 'higher',
    group: 'age',
  },
  {
    label: 'years off',
    title: 'mean years between the estimated age and the target range (0 inside)',
    value: (r) => r.metrics.age?.meanRangeDistance,
    digits: 1,
    better: 'lower',
    group: 'age',
  },
  {
    label: 'distance',
    title: 'mean embedding distance between input and output',
    value: (r) => r.metrics.identity?.meanDistance,
    digits: 3,
    better: 'lower',
    group: 'identity',
  },
  {
    label: 'same person',
    title: 'share of pairs under the same-person threshold',
    value: (r) => r.metrics.identity?.shareBelowThreshold,
    digits: 3,
    better: 'higher',
    group: 'identity',
  },
  {
    label: 'FID',
    title: 'mean FID over target groups, Inception pool_3 features',
    value: (r) => stdRealism(r)?.meanFid,
    digits: -3,
    better: 'lower',
    group: 'std',
  },
  {
    label: 'KID',
    title: 'mean KID over target groups, Inception pool_3 features',
    value: (r) => stdRealism(r)?.meanKid,
    digits: -3,
    better: 'lower',
    group: 'std',
  },
  {
    label: 'FID',
    title: 'mean FID over target groups with non-standard features (see the features column)',
    value: (r) => nonStdRealism(r)?.meanFid,
    digits: -3,
    better: 'lower',
    group: 'nonstd',
  },
  {
    label: 'KID',
    title: 'mean KID over target groups with non-standard features',
    value: (r) => nonStdRealism(r)?.meanKid,
    digits: -3,
    better: 'lower',
    group: 'nonstd',
  },
  {
    label: 'bg PSNR',
    title: 'PSNR outside the face mask (dB; ∞ = unchanged)',
    value: (r) => (r.metrics.background ? (r.metrics.background.psnr ?? Infinity) : undefined),
    digits: 1,
    better: 'higher',
    group: 'other',
  },
  {
    label: 'ms/img',
    title: 'generation time per image (machine-dependent)',
    value: (r) => r.metrics.speed?.msPerImage,
    digits: 2,
    better: 'lower',
    group: 'other',
  },
];

const GROUPS: Array<[Column['group'], string]> = [
  ['model', ''],
  ['age', 'Age'],
  ['identity', 'Identity'],
  ['std', 'Realism, standard (Inception)'],
  ['nonstd', 'Realism, other features (not comparable)'],
  ['other', 'Other'],
];

function cell(v: number | null | undefined, digits: number): string {
  const sortKey = v === null || v === undefined ? '' : v === Infinity ? '1e308' : String(v);
  const text = v === Infinity ? '∞' : num(v, digits);
  return `<td class="n" data-v="${escapeHtml(sortKey)}">${escapeHtml(text)}</td>`;
}

/** A line chart of one value per target group, one series per entry. Values in [0, 1]. */
function chart(title: string, labels: readonly string[], series: Array<{ name: string; values: (number | null)[] }>): string {
  const w = 640;
  const h = 260;
  const m = { l: 44, r: 12, t: 28, b: 40 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const x = (i: number) => m.l + (labels.length === 1 ? pw / 2 : (i * pw) / (labels.length - 1));
  const y = (v: number) => m.t + ph - Math.min(1, Math.max(0, v)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${m.l}" y="16" class="ct">${escapeHtml(title)}</text>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  labels.forEach((l, i) => parts.push(`<text x="${x(i)}" y="${h - m.b + 16}" text-anchor="middle">${escapeHtml(l)}</text>`));
  parts.push(`<text x="${m.l + pw / 2}" y="${h - 6}" text-anchor="middle">target age group</text>`);
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const dash = k >= COLORS.length ? ' stroke-dasharray="5 3"' : '';
    // Gaps (groups without pairs) break the line rather than being drawn as 0.
    const segments: string[][] = [[]];
    s.values.forEach((v, i) => {
      if (v === null) segments.push([]);
      else segments[segments.length - 1]!.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    for (const seg of segments) if (seg.length > 1) parts.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    s.values.forEach((v, i) => {
      if (v !== null)
        parts.push(
          `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" ` +
            `fill="${color}"><title>${escapeHtml(`${s.name} · ${labels[i]}: ${v.toFixed(3)}`)}</title></circle>`,
        );
    });
  });
  const legend = series.map((s, k) => `<li><span class="sw" style="background:${COLORS[k % COLORS.length]}"></span>${escapeHtml(s.name)}</li>`).join('');
  return (
    `<figure><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg><ul ` +
    `class="legend">${legend}</ul></figure>`
  );
}

const SCRIPT = `
document.querySelectorAll('th[data-col]').forEach(function (th) {
  th.addEventListener('click', function () {
    var col = +th.dataset.col, tbody = th.closest('table').tBodies[0];
    var dir = th.dataset.dir === 'desc' ? 'asc' : 'desc';
    document.querySelectorAll('th[data-col]').forEach(function (o) { delete o.dataset.dir; });
    th.dataset.dir = dir;
    var rows = Array.prototype.slice.call(tbody.rows);
    var key = function (r) { var v = r.cells[col].dataset.v; return v === '' || v === undefined ? null : (isNaN(+v) ? v : +v); };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null) return y === null ? 0 : 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * (dir === 'asc' ? 1 : -1);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  });
});`;

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#222}
.wrap{overflow-x:auto;max-width:100%}
h1{font-size:20px;margin:0 0 4px}p.meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
td.n{text-align:right}thead tr.g th{border-bottom:none;font-weight:600;text-align:center;color:#444}
th[data-col]{cursor:pointer;user-select:none}th[data-dir=asc]::after{content:' ▲'}th[data-dir=desc]::after{content:' ▼'}
th.nonstd,td.nonstd{background:#fbf6ea}th.std,td.std{background:#eef5fb}
.sub{color:#666;font-size:12px}.tag{font-size:11px;padding:1px 5px;border-radius:3px;background:#eee;margin-left:6px}
figure{display:inline-block;margin:16px 24px 0 0;vertical-align:top}svg text{font-size:11px;fill:#333}svg .ct{font-size:13px;font-weight:600}
svg .grid{stroke:#e5e5e5}ul.legend{list-style:none;padding:0;margin:4px 0 0 44px;font-size:12px}
ul.legend li{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
footer{margin-top:24px;color:#666;font-size:12px}`;

/**
 * The leaderboard as one self-contained HTML page: a sortable table (click a header), and per-target-group
 * charts of age hit rate and identity (inline SVG). No external requests (a CSP forbids them); every
 * value from a submission is escaped. Standard and non-standard realism columns are kept apart.
 */
export function renderLeaderboardHtml(entries: readonly SiteEntry[], opts: { title?: string; generatedAt?: Date } = {}): string {
  const title = opts.title ?? 'RAGAN.ts leaderboard';
  const first = entries[0]?.results;
  const labels = first?.dataset.groupLabels ?? [];
  const head1 = GROUPS.map(([g, text]) => {
    const span = COLUMNS.filter((c) => c.group === g).length + (g === 'model' ? 3 : g === 'nonstd' ? 1 : g === 'other' ? 2 : 0);
    return `<th colspan="${span}" class="${g}">${escapeHtml(text)}</th>`;
  }).join('');
  let col = 0;
  const th = (label: string, t: string, cls = '') => `<th data-col="${col++}" title="${escapeHtml(t)}" class="${cls}">${escapeHtml(label)}</th>`;
  const heads: string[] = [th('#', 'order added'), th('model', 'model name and kind'), th('sha256', 'model folder hash or baseline label')];
  for (const g of GROUPS.map(([x]) => x)) {
    for (const c of COLUMNS.filter((c) => c.group === g))
      heads.push(th(c.label + (c.better === 'higher' ? ' ↑' : c.better === 'lower' ? ' ↓' : ''), c.title, g));
    if (g === 'nonstd') heads.push(th('features', 'the network used for non-standard FID/KID', 'nonstd'));
    if (g === 'other') heads.push(th('backend', 'TensorFlow.js backend'), th('added', 'date added'));
  }
  const rows = entries.map((e, i) => {
    const r = e.results;
    const cells = [
      `<td class="n" data-v="${i + 1}">${i + 1}</td>`,
      `<td data-v="${escapeHtml(r.model.name.toLowerCase())}">${escapeHtml(r.model.name)}<span class="tag">${escapeHtml(r.model.kind)}</span></td>`,
      `<td data-v="${escapeHtml(r.model.sha256)}"><code title="${escapeHtml(r.model.sha256)}">${escapeHtml(shortHash(r.model.sha256))}</code></td>`,
    ];
    for (const g of GROUPS.map(([x]) => x)) {
      for (const c of COLUMNS.filter((c) => c.group === g)) cells.push(cell(c.value(r), c.digits).replace('<td class="n"', `<td class="n ${g}"`));
      if (g === 'nonstd') {
        const ns = nonStdRealism(r);
        const label = ns ? (ns.extractor.name.includes(`${ns.extractor.dims}-D`) ? ns.extractor.name : `${ns.extractor.name} (${ns.extractor.dims}-D)`) : '–';
        cells.push(
          `<td class="nonstd" data-v="${escapeHtml(ns?.extractor.name ?? '')}" ` +
            `title="${escapeHtml(label)}">${escapeHtml(label.length > 40 ? `${label.slice(0, 39)}…` : label)}</td>`,
        );
      }
      if (g === 'other')
        cells.push(
          `<td data-v="${escapeHtml(r.backend)}">${escapeHtml(r.backend)}</td>`,
          `<td data-v="${escapeHtml(e.addedAt)}">${escapeHtml(e.addedAt.slice(0, 10))}</td>`,
        );
    }
    return `<tr id="e-${escapeHtml(e.id)}">${cells.join('')}</tr>`;
  });
  const name = (e: SiteEntry, i: number) => `${i + 1}. ${e.results.model.name}`;
  const ageSeries = entries.map((e, i) => ({ name: name(e, i), values: labels.map((_, g) => e.results.metrics.age?.perGroup[g]?.hitRate ?? null) }));
  const idSeries = entries.map((e, i) => ({
    name: name(e, i),
    values: labels.map((_, g) => e.results.metrics.identity?.perGroup[g]?.shareBelowThreshold ?? null),
  }));
  const d = first?.dataset;
  const meta = d
    ? `Test set: ${d.name}/${d.split} (${d.size} faces, ${d.ageGroups}, ${d.resolution}×${d.resolution}), dataset ${d.datasetHash.slice(0, 12)}…, split ` +
      `${d.splitHash.slice(0, 12)}…. Each face is re-aged to every other group. ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}.`
    : 'No entries yet.';
  const generated = (opts.generatedAt ?? new Date()).toISOString();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(meta)} Click a column header to sort. Protocol: docs/eval-protocol.md.</p>
<div class="wrap"><table>
<thead><tr class="g">${head1}</tr><tr>${heads.join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
${
  entries.length
    ? chart('Age: target-group hit rate per target group', labels, ageSeries) +
      chart('Identity: share of pairs under the same-person threshold per target group', labels, idSeries)
    : ''
}
<footer>Generated ${escapeHtml(generated)} by @ragan/eval. Realism columns use different feature networks:
only the standard (Inception pool_3) ones compare with published FID/KID.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
