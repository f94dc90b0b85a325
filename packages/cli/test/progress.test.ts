import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar, fmtTime } from '../src/progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => chunks.join('') };
}

describe('progress bar', () => {
  it('off a terminal: one plain line per 10 % and a final line, no carriage returns', () => {
    const s = sink(false);
    const bar = createProgressBar({ total: 100, label: 'prepare', stream: s.stream, unit: 'img' });
    for (let i = 1; i <= 100; i++) bar.update(i, `kept ${i}`);
    bar.finish('done');
    const lines = s.text().trimEnd().split('\n');
    expect(lines.length).toBe(10);
    expect(lines[0]).toMatch(/^prepare 10\/100 10% .* img\/s/);
    expect(lines.at(-1)).toMatch(/^prepare 100\/100 100% .*done$/);
    expect(s.text()).not.toContain('\r');
  });

  it('resumed at 500 of 1,000: the rate and the ETA count only the steps done since', () => {
    const s = sink(false);
    const bar = createProgressBar({ total: 1000, label: 'train', stream: s.stream, unit: 'step', start: 500, startedAt: Date.now() - 10_000 });
    bar.update(501); // the first step after the resume prints nothing: 50 % was the last mark
    expect(s.text()).toBe('');
    bar.update(600); // 100 steps in about 10 s
    const line = s.text().trim();
    expect(line).toMatch(/^train 600\/1000 60% /);
    const rate = Number(/ ([\d.]+) step\/s/.exec(line)?.[1]);
    expect(rate).toBeGreaterThan(8);
    expect(rate).toBeLessThan(11); // counting from 0 it would read 60
    expect(line).toMatch(/ETA (3[6-9]|4\d|5\d)s/); // 400 steps at about 10 step/s
  });

  it('slow work reads as seconds per item: 10 steps in 70 s is 7.0 s/step, not 0.1 step/s', () => {
    const s = sink(false);
    const bar = createProgressBar({ total: 20, label: 'train', stream: s.stream, unit: 'step', startedAt: Date.now() - 70_000 });
    bar.update(10);
    expect(s.text()).toMatch(/^train 10\/20 50% 7\.0 s\/step ETA 1m1[01]s/);
  });

  it('on a terminal: redraws one line with a bar', () => {
    const s = sink(true);
    const bar = createProgressBar({ total: 4, stream: s.stream });
    bar.update(4);
    bar.finish();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws with an ANSI escape
    expect(s.text()).toMatch(/\r\x1b\[2K\[#+\] 4\/4 100%/);
    expect(s.text().endsWith('\n')).toBe(true);
  });
});

describe('fmtTime', () => {
  it('rounds up before splitting into minutes, so 179.6 s is 3m00s, not 2m60s', () => {
    expect(fmtTime(179.6)).toBe('3m00s');
    expect(fmtTime(59.2)).toBe('1m00s');
    expect(fmtTime(42.1)).toBe('43s');
    expect(fmtTime(3 * 3600 + 5 * 60 + 1)).toBe('3h05m');
  });
});
