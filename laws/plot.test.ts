import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { plotCommand } from '../src/cli/plot/command.js';
import { HEAT_PALETTE, symlogConstant, symlogPosition } from '../src/cli/plot/charts.js';
import { groupLabels, parseMetrics, PlotError } from '../src/cli/plot/runs.js';
import { DEFAULT_BUCKETS, thinSeries } from '../src/cli/plot/thin.js';
import { RUNS } from './harness/index.js';

/**
 * `partax plot` run as a subprocess on run directories made here (a hand-written metrics.jsonl
 * with known H̄ and learning rates, and a real tiny `partax train` run), its SVGs parsed as XML:
 * well-formed documents with one line per learning-rate group, S×S heat-map cells placed under
 * the right group names whose colours invert (through the palette) to the symmetric-log position
 * of the H̄ entry written in the file, and the axis titles. Bad inputs give errors that name the
 * directory, file and line; the metrics decoder is fuzzed.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'partax.mjs');
const TMP = mkdtempSync(join(tmpdir(), 'partax-plot-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function plot(args: readonly string[], cwd = TMP) {
  const r = spawnSync(process.execPath, [BIN, 'plot', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------- a small XML parser

interface XmlNode {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  text: string;
}

const decodeEntities = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!,
  );

/** Parses an XML document; throws on anything not well-formed (unbalanced tags, bad attributes, stray text at the top). */
function parseXml(src: string): XmlNode {
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  let i = 0;
  while (i < src.length) {
    if (src.startsWith('<?', i)) i = src.indexOf('?>', i) + 2;
    else if (src.startsWith('<!--', i)) i = src.indexOf('-->', i) + 3;
    else if (src.startsWith('</', i)) {
      const end = src.indexOf('>', i);
      const name = src.slice(i + 2, end).trim();
      const open = stack.pop()!;
      if (open.name !== name) throw new Error(`XML: </${name}> closes <${open.name}> at ${i}`);
      i = end + 1;
    } else if (src[i] === '<') {
      const m = /^<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(src.slice(i));
      if (!m) throw new Error(`XML: malformed tag at ${i}: ${src.slice(i, i + 60)}`);
      const attrs: Record<string, string> = {};
      for (const a of m[2]!.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) throw new Error(`XML: attribute ${a[1]} repeated at ${i}`);
        attrs[a[1]!] = decodeEntities(a[2] ?? a[3]!);
      }
      const node: XmlNode = { name: m[1]!, attrs, children: [], text: '' };
      stack[stack.length - 1]!.children.push(node);
      if (!m[3]) stack.push(node);
      i += m[0].length;
    } else {
      const end = src.indexOf('<', i) < 0 ? src.length : src.indexOf('<', i);
      const text = src.slice(i, end);
      if (stack.length === 1 && text.trim()) throw new Error(`XML: text outside the root element at ${i}`);
      stack[stack.length - 1]!.text += decodeEntities(text);
      i = end;
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]!.name}> is never closed`);
  if (root.children.length !== 1) throw new Error(`XML: expected one root element, got ${root.children.length}`);
  return root.children[0]!;
}

function* walk(n: XmlNode): Generator<XmlNode> {
  yield n;
  for (const c of n.children) yield* walk(c);
}
const hasClass = (n: XmlNode, ...cs: string[]) => cs.every((c) => (n.attrs.class ?? '').split(/\s+/).includes(c));
/** The elements `tag` directly inside groups of the given classes (vega puts each mark's items in one such group). */
const itemsIn = (svg: XmlNode, tag: string, ...classes: string[]) => [...walk(svg)].filter((n) => n.name === 'g' && hasClass(n, ...classes)).flatMap((g) => g.children.filter((c) => c.name === tag));
const textsIn = (svg: XmlNode, ...classes: string[]) => itemsIn(svg, 'text', ...classes).map((t) => t.text);

function readSvg(path: string): XmlNode {
  assert.ok(existsSync(path), `${path} was not written`);
  const svg = parseXml(readFileSync(path, 'utf8'));
  assert.equal(svg.name, 'svg');
  assert.equal(svg.attrs.xmlns, 'http://www.w3.org/2000/svg');
  assert.ok(Number(svg.attrs.width) > 0 && Number(svg.attrs.height) > 0, 'the SVG has a size');
  return svg;
}

// ---------------------------------------------------------------- a hand-made run

const GROUPS = [['layers.0.weight'], ['layers.0.bias'], ['layers.1.weight', 'layers.2.weight']];
const NAMES = ['layers.0.weight', 'layers.0.bias', '*.weight'];
const HG_STEPS = [1, 4, 7, 10];

/** A symmetric 3×3 H̄ for an hg step, entries of both signs over six orders of magnitude. */
const hbarAt = (step: number): number[][] => {
  const a = 1e-6 * step, b = -3e-3 / step, c = 0.8 + step / 10;
  return [
    [c, b, 2e-2],
    [b, -a, 5e-4 * step],
    [2e-2, 5e-4 * step, -0.3],
  ];
};

function writeRun(dir: string, opts: { S?: number; hg?: boolean; groups?: string[][] | null; loss0?: number } = {}) {
  const S = opts.S ?? 3;
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let step = 1; step <= 10; step++) {
    const lrs = Array.from({ length: S }, (_, i) => (i + 1) * 0.1 * (1 + step / 10));
    const rec: Record<string, unknown> = { type: 'step', step, epoch: Math.floor((step - 1) / 5), batch: (step - 1) % 5, loss: (opts.loss0 ?? 2) / step, accuracy: 0.1 + step / 20, lrs, time: step * 0.1 };
    if (opts.hg !== false && HG_STEPS.includes(step)) {
      const H = hbarAt(step);
      rec.hg = { loss: 1 / step, H, g: [0.1, -0.2, 0.3], diag: H.map((r, i) => r[i]), trace: 0, eigMin: -0.3, eigMax: 1.8, lrsRaw: lrs, found: true, branch: 'Analytical', notes: [] };
    }
    lines.push(JSON.stringify(rec));
    if (step % 5 === 0) lines.push(JSON.stringify({ type: 'epoch', epoch: step / 5, step, trainLoss: 1 / step, trainAccuracy: 0.5, testLoss: 1.2 / step, testAccuracy: 0.45 + step / 100, time: step * 0.1 }));
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  if (opts.groups !== null) writeFileSync(join(dir, 'run.json'), JSON.stringify({ task: 'classification', groups: opts.groups ?? GROUPS }));
}

const rgb = (s: string): number[] => {
  const m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(s) ?? /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(s);
  assert.ok(m, `not a colour: ${s}`);
  return s.startsWith('#') ? [1, 2, 3].map((k) => parseInt(m![k]!, 16)) : [1, 2, 3].map((k) => Number(m![k]));
};

/** Inverts the heat map's palette: the signed position in [-1, 1] of a colour on the ramp negative → zero → positive (RGB-linear pieces). */
function paletteposition(fill: string): number {
  const c = rgb(fill);
  const z = rgb(HEAT_PALETTE.zero);
  let best = { t: 0, err: Infinity };
  for (const [end, sign] of [[rgb(HEAT_PALETTE.positive), 1], [rgb(HEAT_PALETTE.negative), -1]] as const) {
    const d = end.map((e, k) => e - z[k]!);
    const t = Math.min(1, Math.max(0, d.reduce((s, dk, k) => s + dk * (c[k]! - z[k]!), 0) / d.reduce((s, dk) => s + dk * dk, 0)));
    const err = Math.hypot(...c.map((ck, k) => ck - (z[k]! + t * d[k]!)));
    if (err < best.err) best = { t: sign * t, err };
  }
  assert.ok(best.err < 3, `colour ${fill} is not on the heat-map palette (off by ${best.err.toFixed(1)} in RGB)`);
  return best.t;
}

/** Checks a heat map against the matrix it should show. */
function checkHeatmap(svg: XmlNode, H: number[][], names: string[]) {
  const S = H.length;
  const cells = itemsIn(svg, 'path', 'mark-rect', 'role-mark');
  assert.equal(cells.length, S * S, `expected ${S}×${S} cells`);
  const m = Math.max(...H.flat().map(Math.abs));
  const c = symlogConstant(m);
  const seen = new Set<string>();
  const points: { v: number; p: number }[] = [];
  for (const cell of cells) {
    const label = cell.attrs['aria-label']!;
    const col = /group \(column j\): ([^;]+);/.exec(label)?.[1];
    const row = /group \(row i\): ([^;]+);/.exec(label)?.[1];
    assert.ok(col && row && names.includes(col) && names.includes(row), `cell ${label} names its groups`);
    seen.add(`${row}|${col}`);
    const v = H[names.indexOf(row)]![names.indexOf(col)]!;
    const p = paletteposition(cell.attrs.fill!);
    points.push({ v, p });
    // the colour is the symmetric-log position of the value (to the 8-bit rounding of the colour)
    assert.ok(Math.abs(p - symlogPosition(v, c, m)) < 0.02, `H̄[${row}, ${col}] = ${v}: colour position ${p.toFixed(3)}, expected ${symlogPosition(v, c, m).toFixed(3)}`);
  }
  assert.equal(seen.size, S * S, 'every (row, column) pair once');
  // the colours are ordered like the values
  for (const a of points) for (const b of points) if (a.v < b.v) assert.ok(a.p <= b.p + 0.01, `H̄ ${a.v} < ${b.v} but colour positions ${a.p} > ${b.p}`);
  // rows and columns are in partition order: the row labels down the side, column labels along the bottom
  const axisLabels = [...walk(svg)].filter((n) => n.name === 'g' && hasClass(n, 'role-axis')).map((g) => textsIn(g, 'role-axis-label'));
  assert.deepEqual(axisLabels.map((l) => l.join('|')).sort(), [names.join('|'), names.join('|')]);
  const titles = textsIn(svg, 'role-axis-title');
  assert.deepEqual([...titles].sort(), ['group (column j)', 'group (row i)']);
  // the values are written in the cells, one text mark each
  assert.equal(itemsIn(svg, 'text', 'mark-text', 'role-mark').length, S * S);
}

test('partax plot: curves, learning rates (one line per group, log scale) and the last H̄ of a hand-made run', () => {
  const dir = join(TMP, 'hand');
  writeRun(dir);
  const r = plot([dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote 3 file\(s\)/);
  const plots = join(dir, 'plots');
  assert.deepEqual(readdirSync(plots).sort(), ['curves.svg', 'hbar.svg', 'learning-rates.svg'], 'no temporary files left behind');

  const lr = readSvg(join(plots, 'learning-rates.svg'));
  const lines = itemsIn(lr, 'path', 'mark-line', 'role-mark');
  assert.equal(lines.length, 3, 'one line per learning-rate group');
  assert.equal(new Set(lines.map((l) => l.attrs.stroke)).size, 3, 'each group its own colour');
  for (const [i, l] of lines.entries()) assert.equal((l.attrs.d!.match(/[ML]/g) ?? []).length >= 10, true, `line ${i} has a point per step`);
  assert.deepEqual(textsIn(lr, 'role-legend-label'), NAMES, 'the legend names the groups in partition order');
  assert.deepEqual([...textsIn(lr, 'role-axis-title')].sort(), ['learning rate (log scale)', 'step']);

  const curves = readSvg(join(plots, 'curves.svg'));
  assert.equal(itemsIn(curves, 'path', 'mark-line', 'role-mark').length, 4, 'loss and accuracy, each with a training and a test line');
  assert.equal(itemsIn(curves, 'path', 'mark-symbol', 'role-mark').length, 4, 'a point per epoch on the two test lines');
  assert.deepEqual([...textsIn(curves, 'role-axis-title')].sort(), ['accuracy', 'loss', 'step', 'step']);

  checkHeatmap(readSvg(join(plots, 'hbar.svg')), hbarAt(10), NAMES);
});

test('partax plot --step N draws that hg step; a step without H̄ is an error listing the hg steps', async () => {
  const dir = join(TMP, 'steps');
  writeRun(dir);
  const out = join(TMP, 'steps-out');
  const r = plot([dir, '--step', '4', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  checkHeatmap(readSvg(join(out, 'hbar.svg')), hbarAt(4), NAMES);
  const bad = await plotHere([dir, '--step', '5']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no H̄ at step 5 \(its hg steps: 1, 4, 7, 10\)/);
});

test('partax plot --x epoch,time --step 4,10: curves against epochs and training seconds (points at the metrics’ own times) and one H̄ per step', () => {
  const dir = join(TMP, 'axes');
  writeRun(dir);
  const out = join(TMP, 'axes-out');
  const r = plot([dir, '--x', 'epoch,time', '--step', '4,10', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['curves-epoch.svg', 'curves-time.svg', 'hbar-step10.svg', 'hbar-step4.svg', 'learning-rates.svg']);
  checkHeatmap(readSvg(join(out, 'hbar-step4.svg')), hbarAt(4), NAMES);
  checkHeatmap(readSvg(join(out, 'hbar-step10.svg')), hbarAt(10), NAMES);
  // writeRun: step s at 0.1·s seconds, 5 steps an epoch; the test points at the epoch lines (epochs 1, 2)
  for (const [x, title, at] of [['epoch', 'epoch', (s: number) => s / 5], ['time', 'training seconds', (s: number) => 0.1 * s]] as const) {
    const svg = readSvg(join(out, `curves-${x}.svg`));
    assert.deepEqual([...textsIn(svg, 'role-axis-title')].sort(), ['accuracy', 'loss', title, title].sort());
    const points = itemsIn(svg, 'path', 'mark-symbol', 'role-mark').map((p) => p.attrs['aria-label']!);
    assert.equal(points.length, 4, 'a point per epoch on the two test lines');
    const xs = points.map((l) => Number(new RegExp(`${title}: ([\\d.]+)`).exec(l)?.[1])).sort((a, b) => a - b);
    assert.deepEqual(xs, [at(5), at(5), at(10), at(10)].map((v) => Number(v.toPrecision(12))), `${x}: the test points sit at their epoch lines' ${x}`);
  }
  const bad = plot([dir, '--x', 'wallclock']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--x expects step, epoch, time \(or several, comma-separated\), got 'wallclock'/);
});

test('partax plot of a run without accuracy (reconstruction: accuracy null in every line) draws the loss panel only', () => {
  const dir = join(TMP, 'no-accuracy');
  mkdirSync(dir, { recursive: true });
  const lines = [1, 2, 3, 4].map((step) => JSON.stringify({ type: 'step', step, epoch: step > 2 ? 1 : 0, batch: (step - 1) % 2, loss: 1 / step, accuracy: null, lrs: [0.1], time: step / 10 }));
  lines.splice(2, 0, JSON.stringify({ type: 'epoch', epoch: 1, step: 2, trainLoss: 0.7, trainAccuracy: null, testLoss: 0.6, testAccuracy: null, time: 0.2 }));
  lines.push(JSON.stringify({ type: 'epoch', epoch: 2, step: 4, trainLoss: 0.3, trainAccuracy: null, testLoss: 0.35, testAccuracy: null, time: 0.4 }));
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  const r = plot([dir, '--x', 'step,time']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([...textsIn(readSvg(join(dir, 'plots', 'curves.svg')), 'role-axis-title')].sort(), ['loss', 'step']);
  assert.deepEqual([...textsIn(readSvg(join(dir, 'plots', 'curves-time.svg')), 'role-axis-title')].sort(), ['loss', 'training seconds']);
});

test('partax plot of several runs: one curves chart coloured by run, per-run charts, --png', async () => {
  const a = join(TMP, 'cmp', 'newton');
  const b = join(TMP, 'cmp', 'sgd');
  writeRun(a);
  writeRun(b, { S: 1, hg: false, groups: [['layers.0.weight', 'layers.0.bias']], loss0: 3 });
  const out = join(TMP, 'cmp-out');
  const r = plot([a, b, '--out', out, '--png']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no H̄ recorded/);
  assert.deepEqual(readdirSync(out).sort(), ['curves.png', 'curves.svg', 'hbar-newton.png', 'hbar-newton.svg', 'learning-rates-newton.png', 'learning-rates-newton.svg', 'learning-rates-sgd.png', 'learning-rates-sgd.svg']);
  const png = readFileSync(join(out, 'curves.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
  assert.ok(png.readUInt32BE(16) > 100 && png.readUInt32BE(20) > 100, 'a PNG of some size');
  const curves = readSvg(join(out, 'curves.svg'));
  const lines = itemsIn(curves, 'path', 'mark-line', 'role-mark');
  assert.equal(lines.length, 8, 'two runs × (loss, accuracy) × (train, test)');
  assert.equal(new Set(lines.map((l) => l.attrs.stroke)).size, 2, 'coloured by run');
  const legend = textsIn(curves, 'role-legend-label');
  assert.ok(legend.includes('newton') && legend.includes('sgd'), `legend names the runs: ${legend}`);
  const sgdLr = readSvg(join(out, 'learning-rates-sgd.svg'));
  assert.equal(itemsIn(sgdLr, 'path', 'mark-line', 'role-mark').length, 1);
  assert.deepEqual(textsIn(sgdLr, 'role-legend-label'), ['all']);

  // without --out: each run's charts in its plots/, the joint curves in ./plots
  const r2 = plot([a, b]);
  assert.equal(r2.status, 0, r2.stderr);
  assert.ok(existsSync(join(TMP, 'plots', 'curves.svg')) && existsSync(join(a, 'plots', 'hbar.svg')) && existsSync(join(b, 'plots', 'learning-rates.svg')));
  assert.ok(!existsSync(join(b, 'plots', 'hbar.svg')));

  // --step N with a run that has no hg steps at all: that run is skipped, the other drawn at N
  const out3 = join(TMP, 'cmp-step');
  const r3 = await plotHere([a, b, '--step', '4', '--out', out3]);
  assert.equal(r3.status, 0, r3.stderr);
  checkHeatmap(readSvg(join(out3, 'hbar-newton.svg')), hbarAt(4), NAMES);
  assert.ok(!existsSync(join(out3, 'hbar-sgd.svg')));
});

test('partax plot of a real partax train run (spirals, newton-summary)', () => {
  const dir = join(TMP, 'trained');
  const t = spawnSync(process.execPath, [BIN, 'train', '--dataset', 'spirals', '--samples', '200', '--hidden', '6', '--epochs', '2', '--batch-size', '40', '--period-hg', '2', '--hg-batch-size', '50', '--out', dir, '--progress', 'none'], { cwd: TMP, encoding: 'utf8', timeout: 120_000 });
  assert.equal(t.status, 0, t.stderr);
  const r = plot([dir]);
  assert.equal(r.status, 0, r.stderr);
  const names = ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias'];
  const lr = readSvg(join(dir, 'plots', 'learning-rates.svg'));
  assert.equal(itemsIn(lr, 'path', 'mark-line', 'role-mark').length, 4);
  assert.deepEqual(textsIn(lr, 'role-legend-label'), names);
  const hgLines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.hg);
  checkHeatmap(readSvg(join(dir, 'plots', 'hbar.svg')), hgLines[hgLines.length - 1].hg.H, names);
});

/** `partax plot` in this process (for the error paths: no subprocess start-up per case). */
async function plotHere(args: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => ({ write: (s: string) => (f(String(s)), true) }) as unknown as NodeJS.WritableStream;
  const status = await plotCommand(args, sink((s) => (stdout += s)), sink((s) => (stderr += s)));
  return { status, stdout, stderr };
}

test('partax plot: a missing directory, a run without metrics.jsonl, malformed lines and bad flags are named errors', async () => {
  // through the command line once, with its exit status
  const missing = plot([join(TMP, 'nope')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^partax plot: no such directory '.*nope'/);
  const noArgs = plot([]);
  assert.equal(noArgs.status, 2);
  assert.match(noArgs.stderr, /give at least one run directory/);

  const empty = join(TMP, 'empty');
  mkdirSync(empty, { recursive: true });
  const noMetrics = await plotHere([empty]);
  assert.equal(noMetrics.status, 1);
  assert.match(noMetrics.stderr, /'.*empty' has no metrics\.jsonl/);
  const notDir = await plotHere([join(TMP, 'empty', '..', 'hand', 'metrics.jsonl')]);
  assert.equal(notDir.status, 1);
  assert.match(notDir.stderr, /is not a directory/);

  const badJson = join(TMP, 'bad-json');
  writeRun(badJson);
  const lines = readFileSync(join(badJson, 'metrics.jsonl'), 'utf8').split('\n');
  lines[2] = lines[2]!.slice(0, 25);
  writeFileSync(join(badJson, 'metrics.jsonl'), lines.join('\n'));
  const r1 = await plotHere([badJson]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /bad-json\/metrics\.jsonl:3: not valid JSON/);

  const badField = join(TMP, 'bad-field');
  writeRun(badField);
  const l2 = readFileSync(join(badField, 'metrics.jsonl'), 'utf8').split('\n');
  l2[1] = l2[1]!.replace(/"loss":[^,]+/, '"loss":"low"');
  writeFileSync(join(badField, 'metrics.jsonl'), l2.join('\n'));
  const r2 = await plotHere([badField]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /bad-field\/metrics\.jsonl:2: loss: expected/);
  assert.ok(!existsSync(join(badField, 'plots')), 'nothing written for a bad run');

  const badHg = join(TMP, 'bad-hg');
  writeRun(badHg);
  const l3 = readFileSync(join(badHg, 'metrics.jsonl'), 'utf8').split('\n');
  l3[0] = l3[0]!.replace(/"H":\[\[/, '"H":[[7,');
  writeFileSync(join(badHg, 'metrics.jsonl'), l3.join('\n'));
  const r3 = await plotHere([badHg]);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /bad-hg\/metrics\.jsonl:1: hg\.H must be square/);

  const badStep = await plotHere([badField, '--step', 'x']);
  assert.equal(badStep.status, 2);
  assert.match(badStep.stderr, /--step expects a step number/);
  const unknown = await plotHere([badField, '--colour']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option '--colour'/);
  const noValue = await plotHere([badField, '--out']);
  assert.equal(noValue.status, 2);
  assert.match(noValue.stderr, /--out needs a value/);
});

test('group labels: one tensor is its name, a shared last path step is *.step, everything is all, repeats get their index', () => {
  assert.deepEqual(groupLabels([['a.weight'], ['a.bias']]), ['a.weight', 'a.bias']);
  assert.deepEqual(groupLabels([['a.weight', 'b.weight'], ['a.bias', 'b.bias']]), ['*.weight', '*.bias']);
  assert.deepEqual(groupLabels([['a.weight', 'a.bias']]), ['all']);
  assert.deepEqual(groupLabels([['a.weight', 'b.weight'], ['c.weight', 'd.weight'], ['x']]), ['g0 *.weight', 'g1 *.weight', 'x']);
  assert.deepEqual(groupLabels([['a.weight', 'b.bias'], ['c']]), ['a.weight … b.bias', 'c']);
});

test('metrics decoder under fuzzing: any text, truncated or corrupted lines give a PlotError naming file:line, never another exception', () => {
  const good = [
    JSON.stringify({ type: 'step', step: 1, epoch: 0, batch: 0, loss: 0.5, accuracy: null, lrs: [0.1, 0.2], time: 0.1, hg: { H: [[1, 2], [2, 3]], g: [0.1, 0.2], eigMin: null, eigMax: 4 } }),
    JSON.stringify({ type: 'epoch', epoch: 1, step: 1, trainLoss: 0.5, trainAccuracy: null, testLoss: null, testAccuracy: 0.5, time: 0.2 }),
  ].join('\n');
  const parsed = parseMetrics(good, 'm.jsonl');
  assert.equal(parsed.steps.length, 1);
  assert.ok(Number.isNaN(parsed.steps[0]!.hg!.eigMin) && Number.isNaN(parsed.epochs[0]!.testLoss), 'null reads as NaN');
  const expectPlotErrorOrParse = (text: string) => {
    try {
      parseMetrics(text, 'm.jsonl');
    } catch (e) {
      assert.ok(e instanceof PlotError, `expected a PlotError, got ${(e as Error).stack}`);
      assert.match((e as Error).message, /^m\.jsonl:\d+: /);
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 200 }), expectPlotErrorOrParse), RUNS);
  fc.assert(fc.property(fc.nat(good.length), (n) => expectPlotErrorOrParse(good.slice(0, n))), RUNS);
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => expectPlotErrorOrParse(good.slice(0, at) + ch + good.slice(at + 1))),
    RUNS,
  );
  fc.assert(fc.property(fc.jsonValue(), (v) => expectPlotErrorOrParse(JSON.stringify(v))), RUNS);
});

// ---------------------------------------------------------------- long runs: thinning to the extremes

test('thinSeries: a subsequence in order, with the first and last points and the least and greatest finite value of every bucket, at most 2·buckets + 2 points', () => {
  const arbValue = fc.oneof({ weight: 8, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) });
  fc.assert(
    fc.property(fc.array(arbValue, { maxLength: 400 }), fc.integer({ min: 1, max: 40 }), (values, buckets) => {
      const points = values.map((v, i) => ({ i, v }));
      const kept = thinSeries(points, (p) => p.v, buckets);
      const n = points.length;
      if (n <= 2 * buckets + 2) return assert.deepEqual(kept, points, 'short series are kept whole');
      assert.ok(kept.length <= 2 * buckets + 2, `${kept.length} points for ${buckets} buckets`);
      kept.forEach((p, k) => k > 0 && assert.ok(p.i > kept[k - 1]!.i, 'in order, each once'));
      assert.equal(kept[0], points[0]);
      assert.equal(kept[kept.length - 1], points[n - 1]);
      const keptIdx = new Set(kept.map((p) => p.i));
      for (let b = 0; b < buckets; b++) {
        const lo = Math.floor((b * n) / buckets);
        const hi = Math.floor(((b + 1) * n) / buckets);
        const finite = values.slice(lo, hi).filter(Number.isFinite);
        const keptHere = kept.filter((p) => p.i >= lo && p.i < hi).map((p) => p.v);
        if (finite.length === 0) {
          assert.ok(keptIdx.has(lo), `bucket ${b} with no finite value keeps its first point`);
          continue;
        }
        assert.ok(keptHere.includes(Math.min(...finite)), `bucket ${b}: its least value ${Math.min(...finite)} is kept`);
        assert.ok(keptHere.includes(Math.max(...finite)), `bucket ${b}: its greatest value ${Math.max(...finite)} is kept`);
      }
    }),
    RUNS,
  );
});

test('partax plot of a 200,000-step run: each series drawn with at most 2·1000 + 2 points, the SVGs small, the spike and the dip still drawn', () => {
  const dir = join(TMP, 'long');
  mkdirSync(dir, { recursive: true });
  const N = 200_000;
  const SPIKE = 123_457;
  const DIP = 77_777;
  const out: string[] = [];
  for (let step = 1; step <= N; step++) {
    const loss = step === SPIKE ? 1000 : 2.3 * Math.exp(-step / 50_000) + 0.1 * Math.sin(step);
    const lr1 = step === DIP ? 1e-9 : 0.01 * (1.5 + Math.sin(step / 1000));
    out.push(JSON.stringify({ type: 'step', step, epoch: Math.floor((step - 1) / 1000), batch: (step - 1) % 1000, loss, accuracy: 0.5 + 0.4 * (1 - Math.exp(-step / 50_000)), lrs: [0.1, lr1, 0.001], time: step / 100 }));
    if (step % 1000 === 0) out.push(JSON.stringify({ type: 'epoch', epoch: step / 1000, step, trainLoss: loss, trainAccuracy: 0.8, testLoss: 1, testAccuracy: 0.8, time: step / 100 }));
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${out.join('\n')}\n`);
  const r = plot([dir]);
  assert.equal(r.status, 0, r.stderr);
  const pointsOf = (path: XmlNode) => (path.attrs.d ?? '').match(/[ML]/g)?.length ?? 0;
  const curvesText = readFileSync(join(dir, 'plots', 'curves.svg'), 'utf8');
  const curves = readSvg(join(dir, 'plots', 'curves.svg'));
  const curveLines = itemsIn(curves, 'path', 'mark-line', 'role-mark').map(pointsOf).sort((a, b) => b - a);
  // the two training lines thinned; the two test lines have their 200 epochs
  assert.equal(curveLines.length, 4);
  assert.ok(curveLines[0]! <= 2 * DEFAULT_BUCKETS + 2 && curveLines[1]! <= 2 * DEFAULT_BUCKETS + 2, `training lines of ${curveLines.slice(0, 2)} points`);
  assert.deepEqual(curveLines.slice(2), [200, 200]);
  assert.ok(curvesText.length < 1_000_000, `curves.svg is ${curvesText.length} bytes`);
  // the loss spike (1000, one step of 200,000) survived: the loss axis reaches it
  const yLabels = [...walk(curves)].filter((n) => n.name === 'g' && hasClass(n, 'role-axis')).map((g) => textsIn(g, 'role-axis-label'));
  assert.ok(yLabels.some((labels) => labels.includes('1,000')), `a loss axis up to 1,000: ${JSON.stringify(yLabels)}`);
  const lr = readSvg(join(dir, 'plots', 'learning-rates.svg'));
  const lrLines = itemsIn(lr, 'path', 'mark-line', 'role-mark').map(pointsOf);
  assert.equal(lrLines.length, 3);
  // drawn 'step-after': two path commands per point
  assert.ok(lrLines.every((n) => n <= 2 * (2 * DEFAULT_BUCKETS + 2)), `learning-rate lines of ${lrLines} path commands`);
  // the learning-rate dip (1e-9 at one step) survived: the log axis goes down to it
  const lrLabels = [...walk(lr)].filter((n) => n.name === 'g' && hasClass(n, 'role-axis')).flatMap((g) => textsIn(g, 'role-axis-label'));
  assert.ok(lrLabels.some((l) => /^1e-9$|^0\.000000001$/.test(l)), `a learning-rate axis down to 1e-9: ${JSON.stringify(lrLabels)}`);
});
