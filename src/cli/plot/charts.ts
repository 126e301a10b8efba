import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { fileError } from '../../io/file-error.js';
import { isMissingPackage } from '../../core/errors.js';
import { AXIS, heatmapSpec, type HeatmapOptions } from './heatmap-spec.js';
import { PlotError, type RunData } from './runs.js';
import { thinSeries } from './thin.js';

export { AXIS, HEAT_PALETTE, heatmapSpec, type HeatmapOptions, NON_FINITE_COLOUR, symlogConstant, symlogPosition } from './heatmap-spec.js';

/**
 * The charts of `partax plot` (and of the examples), as vega-lite specifications rendered to SVG
 * in Node by vega (no browser, no canvas), and to PNG by resvg where asked:
 *
 * - {@link curvesSpec}: training loss (every step) and test loss (every epoch), and the same for
 *   accuracy, for one or several runs side by side, coloured by run;
 * - {@link learningRatesSpec}: the learning rate of each group over the steps, one line per group
 *   (log scale when every rate is positive);
 * - {@link heatmapSpec}: a symmetric S×S matrix such as H̄ as a heat map, groups on both axes,
 *   values written in the cells; the colour scale is a symmetric-log diverging ramp through
 *   {@link HEAT_PALETTE}, so the sign and order of magnitude of each entry are both visible.
 */

/** What the curves are drawn against: steps, epochs (steps over the steps of an epoch) or training seconds. */
export type CurveAxis = 'step' | 'epoch' | 'time';
export const CURVE_AXES: readonly CurveAxis[] = ['step', 'epoch', 'time'];

/** The steps of one epoch of a run, from its first epoch line. */
function stepsPerEpoch(r: RunData): number {
  const e = r.epochs[0];
  if (!e || e.epoch < 1) throw new PlotError(`${r.dir}: no epoch finished, so its curves cannot be drawn against epochs`);
  return e.step / e.epoch;
}

const TRAIN = 'train (each step)';
/** Steps are whole numbers. */
const STEP_AXIS = { format: 'd', tickMinStep: 1 };
const TEST = 'test (each epoch)';

/**
 * Loss and accuracy curves of one or several runs: per-step training values as thin lines and
 * per-epoch test values as dashed lines with points, coloured by run. The accuracy panel is left
 * out when no run records accuracy (regression).
 *
 *     await renderSvg(curvesSpec(readRuns(['runs/a', 'runs/b'])))
 */
export function curvesSpec(runs: readonly RunData[], x: CurveAxis = 'step'): TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  for (const r of runs) {
    const per = x === 'epoch' ? stepsPerEpoch(r) : 1;
    const at = (s: { step: number; time: number }) => (x === 'step' ? s.step : x === 'epoch' ? s.step / per : s.time);
    // loss and accuracy are thinned each on its own extremes: one row per drawn point of each
    for (const s of thinSeries(r.steps, (s) => s.loss)) rows.push({ run: r.name, [x]: at(s), split: TRAIN, loss: fin(s.loss), accuracy: null });
    for (const s of thinSeries(r.steps.filter((s) => s.accuracy !== null), (s) => s.accuracy!)) rows.push({ run: r.name, [x]: at(s), split: TRAIN, loss: null, accuracy: fin(s.accuracy!) });
    for (const e of r.epochs) rows.push({ run: r.name, [x]: at(e), split: TEST, loss: fin(e.testLoss), accuracy: e.testAccuracy === null ? null : fin(e.testAccuracy) });
  }
  const hasAccuracy = runs.some((r) => r.steps.some((s) => s.accuracy !== null) || r.epochs.some((e) => e.testAccuracy !== null));
  const runNames = runs.map((r) => r.name);
  const panel = (field: 'loss' | 'accuracy') => {
    const enc = {
      x: { field: x, type: 'quantitative', title: AXIS[x], ...(x === 'step' ? { axis: STEP_AXIS } : {}) },
      y: { field, type: 'quantitative', title: AXIS[field], scale: { zero: field === 'accuracy' } },
      color: { field: 'run', type: 'nominal', title: 'run', scale: { domain: runNames } },
      strokeDash: { field: 'split', type: 'nominal', title: 'data', scale: { domain: [TRAIN, TEST], range: [[1, 0], [6, 3]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
    };
    return {
      width: 380,
      height: 260,
      layer: [
        { transform: [{ filter: `datum.split === '${TRAIN}' && isValid(datum.${field})` }], mark: { type: 'line', strokeWidth: 1, opacity: 0.55 }, encoding: enc },
        { transform: [{ filter: `datum.split === '${TEST}' && isValid(datum.${field})` }], mark: { type: 'line', strokeWidth: 2, point: true }, encoding: enc },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: x === 'step' ? 'training and test curves' : `training and test curves against ${AXIS[x]}`, subtitle: runNames.join(', ') },
    data: { values: rows },
    hconcat: hasAccuracy ? [panel('loss'), panel('accuracy')] : [panel('loss')],
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

/**
 * The per-group learning rates of one run over its steps: one line per group, coloured by group
 * (in partition order); log scale when every rate is positive, linear (said in the axis title)
 * otherwise — newton-summary clips negative rates to 0.
 */
export function learningRatesSpec(run: RunData): TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  const S = run.steps[0]?.lrs.length ?? 0;
  for (let i = 0; i < S; i++)
    for (const s of thinSeries(run.steps, (s) => s.lrs[i]!)) rows.push({ step: s.step, group: run.groups[i] ?? `g${i}`, lr: fin(s.lrs[i]!) });
  const all = run.steps.flatMap((s) => s.lrs);
  const log = all.length > 0 && all.every((v) => Number.isFinite(v) && v > 0);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'learning rates per group', subtitle: run.name },
    width: 480,
    height: 280,
    data: { values: rows },
    transform: [{ filter: 'isValid(datum.lr)' }],
    mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: AXIS.step, axis: STEP_AXIS },
      y: { field: 'lr', type: 'quantitative', title: log ? `${AXIS.lr} (log scale)` : `${AXIS.lr} (linear scale: some are ≤ 0)`, scale: log ? { type: 'log' } : { zero: true } },
      color: { field: 'group', type: 'nominal', title: 'group', scale: { domain: [...run.groups] }, sort: [...run.groups] },
    },
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

/**
 * A chart package, loaded on first use; a PlotError saying what to install when it is missing (vega,
 * vega-lite and resvg are optional peer dependencies of partax: a library-only install skips them).
 */
async function optionalPeer<M>(name: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (e) {
    if (isMissingPackage(e, name))
      throw new PlotError(`charts need the '${name}' package, an optional peer dependency of partax: install the chart packages (npm install vega vega-lite @resvg/resvg-js)`);
    throw e;
  }
}

/** Renders a vega-lite specification to an SVG document (headless: no canvas, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // loaded on first use: vega takes a moment to import, and error paths and callers that only build specs need none of it
  const [vega, { compile }] = await Promise.all([optionalPeer('vega', () => import('vega')), optionalPeer('vega-lite', () => import('vega-lite'))]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG (resvg, twice the SVG's size, system fonts; DejaVu Sans for sans-serif). */
export async function renderPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await optionalPeer('@resvg/resvg-js', () => import('@resvg/resvg-js'));
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}

/**
 * Writes a chart atomically (src/io/atomic-write.ts: every byte to a temporary file, then a
 * rename), so a reader never sees half a chart. Creates the directory.
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw fileError(e, 'create the directory', dirname(path));
  }
  writeFileAtomic(path, data);
}

/** A heat map of M straight to an SVG file (and a PNG beside it when `png`); returns the paths written. */
export async function writeHeatmap(path: string, M: readonly (readonly number[])[], names: readonly string[], opts: HeatmapOptions & { png?: boolean }): Promise<string[]> {
  const svg = await renderSvg(heatmapSpec(M, names, opts));
  writeAtomic(path, svg);
  if (!opts.png) return [path];
  const pngPath = path.replace(/\.svg$/, '') + '.png';
  writeAtomic(pngPath, await renderPng(svg));
  return [path, pngPath];
}

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
