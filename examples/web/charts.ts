/**
 * The page's live charts, as vega-lite specs compiled to vega and drawn as SVG by a vega View
 * (what vega-embed does, without its extras): the loss per step and the learning rate of each
 * parameter group, whose new points are streamed into the views (`change`), and H̄ as a heat map
 * with the groups' names — `partax plot`'s own heat map (src/cli/plot/heatmap-spec.ts), drawn
 * anew at each summary.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { heatmapSpec } from '../../src/cli/plot/heatmap-spec.js';

/** A chart in an element, fed rows of its one data set ('rows'). */
export class LiveChart {
  private constructor(private readonly view: vega.View) {}

  /** Draws the vega-lite `spec` (its data named 'rows') as SVG into `el`. */
  static async create(el: HTMLElement, spec: TopLevelSpec): Promise<LiveChart> {
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'svg', container: el, hover: true });
    await view.runAsync();
    return new LiveChart(view);
  }

  /** Appends rows. */
  async append(rows: readonly object[]): Promise<void> {
    await this.view.change('rows', vega.changeset().insert(rows)).runAsync();
  }

  /** Replaces every row. */
  async replace(rows: readonly object[]): Promise<void> {
    await this.view.change('rows', vega.changeset().remove(() => true).insert(rows)).runAsync();
  }
}

const base = { data: { name: 'rows' }, width: 'container', height: 220 } as const;

/** Training loss per step (log scale), and the test loss at the end of each evaluation. */
export const lossSpec: TopLevelSpec = {
  ...base,
  title: 'loss (training batch per step)',
  mark: { type: 'line', interpolate: 'monotone' },
  encoding: {
    x: { field: 'step', type: 'quantitative' },
    y: { field: 'loss', type: 'quantitative', scale: { type: 'log' } },
  },
};

/** The learning rate of each group over steps. */
export const ratesSpec: TopLevelSpec = {
  ...base,
  title: 'learning rate per parameter group',
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'step', type: 'quantitative' },
    y: { field: 'rate', type: 'quantitative' },
    color: { field: 'group', type: 'nominal', sort: null },
  },
};

/** Draws H̄ (S×S) with the groups' names into `el`, replacing what was drawn there. */
export class HeatmapChart {
  private view: vega.View | null = null;
  constructor(private readonly el: HTMLElement) {}

  async draw(H: readonly (readonly number[])[], names: readonly string[], title: string): Promise<void> {
    this.view?.finalize();
    this.el.replaceChildren();
    this.view = new vega.View(vega.parse(compile(heatmapSpec(H, names, { title })).spec), { renderer: 'svg', container: this.el, hover: true });
    await this.view.runAsync();
  }

  /** Removes the drawing and says why there is none. */
  clear(note: string): void {
    this.view?.finalize();
    this.view = null;
    this.el.textContent = note;
  }
}
