import type { EvalResults } from './schema.js';

const f = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '–' : v.toFixed(digits));
/** FID/KID scales differ by feature space (Inception FIDs are tens, face-api ones tenths): 3 significant digits. */
const g3 = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(3));
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)} %`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A readable plain-text summary of a results file (what `ragan eval` prints). */
export function formatSummary(r: EvalResults): string {
  const { age, identity, realism, background, cues, speed } = r.metrics;
  const d = r.dataset;
  const out: string[] = [];
  out.push(`RAGAN.ts evaluation: ${r.model.name} [${r.model.sha256.startsWith('baseline:') ? r.model.sha256 : `sha256 ${r.model.sha256.slice(0, 12)}…`}]`);
  out.push(`${d.name}/${d.split}: ${d.evaluated} of ${d.size} faces (seed ${r.seed}), ${d.resolution}×${d.resolution}, ${d.ageGroups}; backend ${r.backend}`);
  out.push('');
  const header = ['target group', 'pairs', 'age hit', '±1 group', 'est. age', 'yrs off', 'id dist', `id<${f(identity?.threshold, 1)}`];
  if (realism) header.push('FID', 'KID');
  const rows = d.groupLabels.map((label, i) => {
    const a = age?.perGroup[i];
    const id = identity?.perGroup[i];
    const re = realism?.perGroup[i];
    const row = [
      label,
      String(a?.pairs ?? id?.pairs ?? '–'),
      f(a?.hitRate),
      f(a?.withinOneRate),
      f(a?.meanEstimatedAge, 1),
      f(a?.meanRangeDistance, 1),
      f(id?.meanDistance, 3),
      f(id?.shareBelowThreshold),
    ];
    if (realism) row.push(g3(re?.fid), g3(re?.kid));
    return row;
  });
  const all = [
    'all',
    String(age?.pairs ?? identity?.pairs ?? '–'),
    f(age?.hitRate),
    f(age?.withinOneRate),
    '',
    f(age?.meanRangeDistance, 1),
    f(identity?.meanDistance, 3),
    f(identity?.shareBelowThreshold),
  ];
  if (realism) all.push(g3(realism.meanFid), g3(realism.meanKid));
  rows.push(all);
  out.push(table(header, rows));
  out.push('');
  if (age) {
    out.push(
      `age: estimator ${age.estimator}; on the real inputs it is off by ${f(age.inputs.meanAbsoluteError, 1)} years on average and puts ` +
        `${f(age.inputs.hitRate)} in their labelled group`,
    );
  } else out.push('age: not measured (no age estimator)');
  if (identity) {
    out.push(`identity: ${identity.embedder}, same-person threshold ${identity.threshold}`);
    for (const o of identity.others)
      out.push(`  also ${o.embedder}: mean distance ${f(o.meanDistance, 3)}, share < ${o.threshold}: ${f(o.shareBelowThreshold)}`);
  } else out.push('identity: not measured (no embedder)');
  if (realism) {
    const e = realism.extractor;
    out.push(
      `realism: ${e.name}, ${e.dims}-D, ${e.standard ? 'standard (Inception pool_3)' : 'NON-STANDARD features: not comparable with published FID/KID'}; ` +
        `FID/KID per group against that group's real test faces (– where a side has < 2 faces); all groups pooled: FID ${g3(realism.pooled.fid)}, KID ` +
        `${g3(realism.pooled.kid)}`,
    );
  } else out.push('realism: not measured (no feature extractor)');
  if (background)
    out.push(
      `background (outside the face mask): MAE ${f(background.mae, 4)}, PSNR ${background.psnr === null ? '∞ (unchanged)' : `${f(background.psnr, 1)} dB`}`,
    );
  if (cues)
    out.push(
      `cues (share of the face, blurred): painted darker/brighter ${pct(cues.brightShare)}, recoloured ${pct(cues.colourShare)}; per target ` +
        cues.perGroup.map((g) => `${g.group} ${pct(g.brightShare)}/${pct(g.colourShare)}`).join(', '),
    );
  if (speed)
    out.push(`speed: ${f(speed.msPerImage, 2)} ms per image on ${speed.backend} (${speed.images} images; warm-up ${f(speed.warmupMs, 0)} ms excluded)`);
  out.push(
    `time: ${(r.timings.totalMs / 1000).toFixed(1)} s (load ${(r.timings.loadMs / 1000).toFixed(1)}, generate ${(r.timings.generateMs / 1000).toFixed(1)}, ` +
      `metrics ${(r.timings.metricsMs / 1000).toFixed(1)})`,
  );
  return out.join('\n');
}

/**
 * Several results files side by side as markdown (what a model card shows): one column per model, the
 * headline figures as rows, then the age hit rate and identity share per target group. All files must
 * be on the same faces (same subsetHash) for the columns to be comparable; `formatComparison` refuses otherwise.
 */
export function formatComparison(entries: Array<{ label: string; results: EvalResults }>): string {
  if (entries.length === 0) throw new Error('formatComparison: no results given');
  const first = entries[0]!.results.dataset;
  const m0 = entries[0]!.results.metrics;
  for (const { label, results } of entries) {
    if (results.dataset.subsetHash !== first.subsetHash || results.dataset.datasetHash !== first.datasetHash) {
      throw new Error(`${label} was evaluated on other faces than ${entries[0]!.label} (dataset or subset hash differs): the columns would not be comparable`);
    }
    // the measuring networks must be the same too (a model's estimator, embedder or FID features are not its own)
    const m = results.metrics;
    const differs = [
      m.age && m0.age && m.age.estimator !== m0.age.estimator ? `age estimator (${m.age.estimator} vs ${m0.age.estimator})` : '',
      m.identity && m0.identity && (m.identity.embedder !== m0.identity.embedder || m.identity.threshold !== m0.identity.threshold)
        ? 'identity embedder or threshold'
        : '',
      m.realism && m0.realism && m.realism.extractor.name !== m0.realism.extractor.name ? 'realism feature extractor' : '',
    ].filter(Boolean);
    if (differs.length > 0)
      throw new Error(`${label} was measured with another ${differs.join(', ')} than ${entries[0]!.label}: the columns would not be comparable`);
  }
  const col = (fn: (r: EvalResults) => string) => entries.map((e) => fn(e.results));
  const rows: Array<[string, string[]]> = [
    ['age: target-group hit rate', col((r) => f(r.metrics.age?.hitRate, 3))],
    ['age: estimate within one group of the target', col((r) => f(r.metrics.age?.withinOneRate, 3))],
    ['age: mean years outside the target range', col((r) => f(r.metrics.age?.meanRangeDistance, 1))],
    ['identity: mean face-api distance', col((r) => f(r.metrics.identity?.meanDistance, 3))],
    [`identity: share < ${f(entries[0]!.results.metrics.identity?.threshold, 1)} (same person)`, col((r) => f(r.metrics.identity?.shareBelowThreshold, 3))],
    [
      'realism: mean FID over groups',
      col((r) => `${g3(r.metrics.realism?.meanFid)}${r.metrics.realism && !r.metrics.realism.extractor.standard ? ' (non-std)' : ''}`),
    ],
    ['realism: mean KID over groups', col((r) => g3(r.metrics.realism?.meanKid))],
    [
      'background: MAE / PSNR (dB)',
      col((r) =>
        r.metrics.background ? `${f(r.metrics.background.mae, 4)} / ${r.metrics.background.psnr === null ? '∞' : f(r.metrics.background.psnr, 1)}` : '–',
      ),
    ],
    [
      'cues: face painted darker/brighter / recoloured',
      col((r) => (r.metrics.cues ? `${pct(r.metrics.cues.brightShare)} / ${pct(r.metrics.cues.colourShare)}` : '–')),
    ],
    ['speed: ms per image', col((r) => (r.metrics.speed ? `${f(r.metrics.speed.msPerImage, 1)} (${r.metrics.speed.backend})` : '–'))],
  ];
  const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out: string[] = [];
  out.push(md(['metric', ...entries.map((e) => e.label)]));
  out.push(md(['---', ...entries.map(() => '---:')]));
  for (const [name, cells] of rows) out.push(md([name, ...cells]));
  out.push('');
  out.push(md(['target group', ...first.groupLabels]));
  out.push(md(['---', ...first.groupLabels.map(() => '---:')]));
  out.push(md(['pairs', ...first.groupLabels.map((_, i) => String(entries[0]!.results.metrics.age?.perGroup[i]?.pairs ?? '–'))]));
  for (const { label, results } of entries) {
    out.push(md([`${label}: age hit rate`, ...first.groupLabels.map((_, i) => f(results.metrics.age?.perGroup[i]?.hitRate))]));
    out.push(md([`${label}: within one group`, ...first.groupLabels.map((_, i) => f(results.metrics.age?.perGroup[i]?.withinOneRate))]));
    out.push(md([`${label}: mean estimated age`, ...first.groupLabels.map((_, i) => f(results.metrics.age?.perGroup[i]?.meanEstimatedAge, 1))]));
    out.push(md([`${label}: identity share < threshold`, ...first.groupLabels.map((_, i) => f(results.metrics.identity?.perGroup[i]?.shareBelowThreshold))]));
  }
  out.push(...strataTable(entries, first.groupLabels));
  return `${out.join('\n')}\n`;
}

/**
 * Per subgroup (`byStratum`, e.g. per gender and race), when the results have them: for each stratum and
 * model, faces, hit rate, within one group, mean estimated age at the youngest two and the oldest target,
 * identity kept. Empty when no results have strata.
 */
function strataTable(entries: Array<{ label: string; results: EvalResults }>, labels: readonly string[]): string[] {
  const names = [...new Set(entries.flatMap((e) => Object.keys(e.results.metrics.age?.byStratum ?? {})))].sort();
  if (names.length === 0) return [];
  const k = labels.length;
  const ageAt = [0, 1, k - 1].filter((i, j, a) => i >= 0 && a.indexOf(i) === j);
  const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [
    '',
    md(['subgroup', 'model', 'faces', 'age hit rate', 'within one group', ...ageAt.map((i) => `mean est. age at ${labels[i]}`), 'identity share < threshold']),
  ];
  out.push(md(['---', '---', ...new Array(4 + ageAt.length).fill('---:')]));
  for (const name of names) {
    for (const { label, results } of entries) {
      const a = results.metrics.age?.byStratum?.[name];
      const id = results.metrics.identity?.byStratum?.[name];
      if (!a && !id) continue;
      out.push(
        md([
          name,
          label,
          String(a?.faces ?? '–'),
          f(a?.hitRate, 3),
          f(a?.withinOneRate, 3),
          ...ageAt.map((i) => f(a?.meanEstimatedAge[i], 1)),
          f(id?.shareBelowThreshold, 3),
        ]),
      );
    }
  }
  return out;
}
