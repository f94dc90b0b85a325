import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { FFHQ_AGING_GROUPS } from '@ragan/core';
import { buildProgram } from '../src/index.js';
import { parseTargetFlag } from '../src/photo-options.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `ragan …args` (a --help) in this process: what it writes. */
async function output(args: string[]): Promise<string> {
  const program = buildProgram();
  let out = '';
  for (const c of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  }
  await program.parseAsync(['node', 'ragan', ...args]).catch((e: unknown) => {
    if (!(e instanceof CommanderError && e.code === 'commander.helpDisplayed')) throw e;
  });
  return out;
}

/** Every `--model X` of the examples is made by an example before it (`--out X`), or is a name the command knows. */
function modelsMadeFirst(help: string, known: readonly string[]): void {
  const examples = help.slice(help.indexOf('Examples'));
  for (const m of examples.matchAll(/--model (\S+)/g)) {
    const dir = m[1]!;
    if (known.includes(dir)) continue;
    const made = examples.slice(0, m.index).match(new RegExp(`--out ${dir.replace(/[/.]/g, '\\$&')}(\\s|$)`));
    expect(made, `--model ${dir}: no example before it makes it`).not.toBeNull();
  }
}

describe('help texts', () => {
  it('train --help shows the defaults, taken from the train config schema', async () => {
    const help = await output(['train', '--help']);
    const { resolveTrainConfig } = await import('@ragan/train');
    const d = resolveTrainConfig({});
    expect(help).toContain(`(default: ${d.preset})`);
    expect(help).toContain(`images per step (default: ${d.batch})`);
    expect(help).toContain(`preset ${d.preset}, steps ${d.steps}, batch ${d.batch}, seed ${d.seed}`);
    expect(help).toContain(`loss weights adv ${d.losses.adv}, age ${d.losses.age}, rec ${d.losses.rec}, cyc ${d.losses.cyc}`);
    expect(help).toContain(`EMA decay ${d.emaDecay}`);
  });

  it('ragan --help names docs that exist and says how to install before the packages are on npm', async () => {
    const help = await output(['--help']);
    expect(help).not.toMatch(/npmjs\.com/);
    const readme = /Docs: (\S+README\.md)/.exec(help);
    expect(readme, help).not.toBeNull();
    expect(existsSync(readme![1]!)).toBe(true);
    expect(help).toMatch(/Not on npm yet/);
    // the scripts it names are there, and the README section it names too
    const scripts = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(help).toMatch(/pnpm pack:packages/);
    expect(scripts['pack:packages']).toMatch(/pack --pack-destination packs/);
    expect(scripts.release).toMatch(/changeset publish/);
    expect(scripts['version-packages']).toBe('changeset version');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toMatch(/^### Using the packages in another project$/m);
  });

  it('ragan age --help: the measured ONNX Runtime speed-up, examples whose models and photo exist or are made first', async () => {
    const help = await output(['age', '--help']);
    expect(help).toMatch(/1\.8-5x faster than tfjs wasm/);
    expect(help).not.toMatch(/5-9x/);
    modelsMadeFirst(help, ['bundled']);
    const photo = /ragan age (\S+sample1\.jpg)/.exec(help);
    expect(photo, help).not.toBeNull();
    expect(existsSync(photo![1]!)).toBe(true);
    expect(help).toMatch(/--threads <n>/);
  });

  it("ragan eval and demo --help: examples whose models are made first; demo has age's detector options", async () => {
    modelsMadeFirst(await output(['eval', '--help']), ['bundled', 'identity', 'random']);
    const demo = await output(['demo', '--help']);
    modelsMadeFirst(demo, ['bundled']);
    for (const flag of ['--detector <name>', '--min-confidence <p>', '--threads <n>']) expect(demo).toContain(flag);
  });
});

describe('--to', () => {
  it('a range the model has only as part of a group is that group, said in one line', () => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    expect(parseTargetFlag('80+', FFHQ_AGING_GROUPS, log)).toEqual({ group: '70+' });
    expect(parseTargetFlag('20-25', FFHQ_AGING_GROUPS, log)).toEqual({ group: '20-29' });
    expect(lines).toEqual([
      "ragan: --to 80+ is the age group 70+ (this model's groups: 0-2, 3-6, 7-9, 10-14, 15-19, 20-29, 30-39, 40-49, 50-69, 70+)",
      expect.stringMatching(/^ragan: --to 20-25 is the age group 20-29 \(/),
    ]);
    // what the model has, and ages in years, are taken as written: nothing to say
    expect(parseTargetFlag('70+', FFHQ_AGING_GROUPS, log)).toEqual({ group: '70+' });
    expect(parseTargetFlag('45', FFHQ_AGING_GROUPS, log)).toEqual({ age: 45 });
    expect(lines).toHaveLength(2);
  });
});
