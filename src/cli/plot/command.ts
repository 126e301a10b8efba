import { join, resolve } from 'node:path';
import { systemErrorMessage } from '../../io/file-error.js';
import { CURVE_AXES, type CurveAxis, curvesSpec, heatmapSpec, learningRatesSpec, renderPng, renderSvg, writeAtomic } from './charts.js';
import { PlotError, type RunData, readRuns } from './runs.js';
import type { TopLevelSpec } from 'vega-lite';

/**
 * `partax plot RUN_DIR... [--out DIR] [--png] [--step N]`: charts of `partax train` runs, as SVG
 * (and PNG with --png). Exit status: 0 done, 1 a run cannot be read, 2 a bad command line.
 */

export const PLOT_USAGE = `usage: partax plot RUN_DIR... [--out DIR] [--png] [--step N[,N…]] [--x step|epoch|time[,…]]

Draws the charts of runs written by partax train:
  curves.svg          training loss (each step) and test loss (each epoch), and the same for
                      accuracy; several runs side by side, coloured by run
  learning-rates.svg  the learning rate of each parameter group over the steps
  hbar.svg            H̄ (newton-summary's S×S summary of the Hessian) at the last hg step, as a heat map

Where: with one run, in RUN_DIR/plots/. With several, each run's own charts in its plots/ and
the joint curves.svg in ./plots/. With --out DIR, everything in DIR (per-run charts named
learning-rates-RUN.svg and hbar-RUN.svg when there are several runs).

options:
  --out DIR   write every chart into DIR
  --png       also write a PNG beside each SVG
  --step N    draw H̄ at step N (an hg step) instead of the last one; N,M,…: one heat map
              per step (hbar-stepN.svg, or hbar-RUN-stepN.svg)
  --x AXES    what the curves are drawn against: step (curves.svg; the default), epoch
              (curves-epoch.svg), time (training seconds: curves-time.svg), or several: epoch,time
  --help      show this message`;

class UsageError extends Error {}

interface PlotArgs {
  readonly dirs: string[];
  readonly out: string | null;
  readonly png: boolean;
  readonly steps: number[] | null;
  readonly x: CurveAxis[];
  readonly help: boolean;
}

function parseArgs(argv: readonly string[]): PlotArgs {
  const dirs: string[] = [];
  let out: string | null = null;
  let png = false;
  let steps: number[] | null = null;
  let x: CurveAxis[] = ['step'];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`partax plot: ${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--png') png = true;
    else if (a === '--out') out = value();
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a === '--step' || a.startsWith('--step=')) {
      const v = a === '--step' ? value() : a.slice(7);
      steps = v.split(',').map((p) => {
        const n = Number(p);
        if (!/^\d+$/.test(p) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`partax plot: --step expects a step number ≥ 1 (or several, comma-separated), got '${p}'`);
        return n;
      });
    } else if (a === '--x' || a.startsWith('--x=')) {
      const v = a === '--x' ? value() : a.slice(4);
      x = v.split(',').map((p) => {
        if (!(CURVE_AXES as readonly string[]).includes(p)) throw new UsageError(`partax plot: --x expects ${CURVE_AXES.join(', ')} (or several, comma-separated), got '${p}'`);
        return p as CurveAxis;
      });
    } else if (a.startsWith('-')) throw new UsageError(`partax plot: unknown option '${a}'\n${PLOT_USAGE}`);
    else dirs.push(a);
  }
  if (!help && dirs.length === 0) throw new UsageError(`partax plot: give at least one run directory\n${PLOT_USAGE}`);
  return { dirs, out, png, steps, x, help };
}

/** A file-name-safe form of a run name. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** The H̄ of a run to draw: at `step`, or the last hg step; null (with a note) when the run has none. */
function hbarOf(run: RunData, step: number | null): { step: number; H: readonly (readonly number[])[]; eigMin: number; eigMax: number } | null {
  const hgSteps = run.steps.filter((s) => s.hg);
  if (step === null) {
    const last = hgSteps[hgSteps.length - 1];
    return last ? last.hg! : null;
  }
  if (hgSteps.length === 0) return null;
  const at = hgSteps.find((s) => s.step === step);
  if (at) return at.hg!;
  const list = hgSteps.map((s) => s.step);
  const shown = list.length > 12 ? `${list.slice(0, 6).join(', ')}, …, ${list.slice(-3).join(', ')}` : list.join(', ');
  throw new PlotError(`--step ${step}: ${join(run.dir, 'metrics.jsonl')} has no H̄ at step ${step} (its hg steps: ${shown})`);
}

/** Runs `partax plot`; returns the exit status. */
export async function plotCommand(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const say = (s: string) => out.write(`${s}\n`);
  let args: PlotArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    say(PLOT_USAGE);
    return 0;
  }
  try {
    const runs = readRuns(args.dirs);
    const several = runs.length > 1;
    const written: string[] = [];
    const emit = async (path: string, spec: TopLevelSpec) => {
      const svg = await renderSvg(spec);
      writeAtomic(path, svg);
      written.push(path);
      if (args.png) {
        const pngPath = path.replace(/\.svg$/, '.png');
        writeAtomic(pngPath, await renderPng(svg));
        written.push(pngPath);
      }
    };
    const dirOf = (r: RunData) => args.out ?? join(r.dir, 'plots');
    const suffix = (r: RunData) => (several && args.out !== null ? `-${safe(r.name)}` : '');
    for (const x of args.x) await emit(join(args.out ?? (several ? 'plots' : join(runs[0]!.dir, 'plots')), x === 'step' ? 'curves.svg' : `curves-${x}.svg`), curvesSpec(runs, x));
    for (const r of runs) {
      if (r.steps.length) await emit(join(dirOf(r), `learning-rates${suffix(r)}.svg`), learningRatesSpec(r));
      for (const step of args.steps ?? [null]) {
        const hb = hbarOf(r, step);
        if (hb === null) {
          say(`partax plot: ${r.dir}: no H̄ recorded (only newton-summary runs have hg steps): no heat map`);
          break;
        }
        const eig = Number.isFinite(hb.eigMin) ? `; eigenvalues in [${hb.eigMin.toPrecision(3)}, ${hb.eigMax.toPrecision(3)}]` : '';
        const stepSuffix = args.steps !== null && args.steps.length > 1 ? `-step${hb.step}` : '';
        await emit(
          join(dirOf(r), `hbar${suffix(r)}${stepSuffix}.svg`),
          heatmapSpec(hb.H, r.groups, { title: `H̄ at step ${hb.step}`, subtitle: `${r.name}: the loss's Hessian summarised over ${r.groups.length} groups${eig}` }),
        );
      }
    }
    say(`partax plot: wrote ${written.length} file(s):\n${written.map((p) => `  ${resolve(p)}`).join('\n')}`);
    return 0;
  } catch (e) {
    err.write(`partax plot: ${e instanceof PlotError ? e.message : (systemErrorMessage(e) ?? (e instanceof Error ? (e.stack ?? e.message) : String(e)))}\n`);
    return 1;
  }
}
