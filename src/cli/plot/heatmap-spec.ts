import type { TopLevelSpec } from 'vega-lite';

/**
 * The heat map of a symmetric S×S matrix such as H̄, as a vega-lite specification: shared by
 * `partax plot` (./charts.ts renders it to SVG in Node) and the web page (examples/web/, which
 * draws it live in the browser), so this file imports nothing from Node.
 */

/** The heat map's colours: negative entries blue, zero near-white, positive red (linear in RGB between them). */
export const HEAT_PALETTE = { negative: '#2166ac', zero: '#f7f7f7', positive: '#b2182b' } as const;

/** The colour given to non-finite entries (NaN, ±∞) of a heat map. */
export const NON_FINITE_COLOUR = '#bdbdbd';

/** Axis titles used by the charts (tests and readers look for them). */
export const AXIS = { step: 'step', epoch: 'epoch', time: 'training seconds', loss: 'loss', accuracy: 'accuracy', lr: 'learning rate', row: 'group (row i)', col: 'group (column j)' } as const;

/** Options of {@link heatmapSpec}. */
export interface HeatmapOptions {
  readonly title: string;
  readonly subtitle?: string;
  /** Write each entry in its cell (default: when S ≤ 12). */
  readonly values?: boolean;
  /** Title of the colour legend (default 'H̄ᵢⱼ'). */
  readonly legend?: string;
}

/** Where v falls on the symmetric-log colour scale with constant c and half-range m: in [-1, 1]. */
export function symlogPosition(v: number, c: number, m: number): number {
  return (Math.sign(v) * Math.log1p(Math.abs(v) / c)) / Math.log1p(m / c);
}

/** The symmetric-log constant of a heat map: entries below it in size are shaded linearly (a thousandth of the largest). */
export const symlogConstant = (m: number): number => (m > 0 ? m * 1e-3 : 1);

/**
 * A square matrix M (S×S) as a heat map: cell (i, j) in row i (group names down the side) and
 * column j (group names along the bottom), coloured on a diverging symmetric-log scale over
 * [−max|Mᵢⱼ|, max|Mᵢⱼ|] (blue negative, red positive), the value written in the cell.
 * Non-finite entries are grey.
 *
 *     heatmapSpec([[2, -1], [-1, 3]], ['layers.0.weight', 'layers.0.bias'], { title: 'H̄ at step 40' })
 */
export function heatmapSpec(M: readonly (readonly number[])[], names: readonly string[], opts: HeatmapOptions): TopLevelSpec {
  const S = M.length;
  if (!M.every((r) => r.length === S) || names.length !== S)
    throw new RangeError(`heatmapSpec: expected an S×S matrix and S names, got rows of ${JSON.stringify(M.map((r) => r.length))} and ${names.length} names`);
  if (new Set(names).size !== S) throw new RangeError(`heatmapSpec: group names must be distinct, got ${JSON.stringify(names)}`);
  const m = Math.max(0, ...M.flat().filter(Number.isFinite).map(Math.abs)) || 1;
  const c = symlogConstant(m);
  const rows = M.flatMap((r, i) =>
    r.map((v, j) => ({
      row: names[i],
      col: names[j],
      v: Number.isFinite(v) ? v : null,
      label: Number.isFinite(v) ? fmt(v) : String(v),
      ink: Number.isFinite(v) && Math.abs(symlogPosition(v, c, m)) > 0.6 ? 'white' : 'black',
    })),
  );
  const showValues = opts.values ?? S <= 12;
  const x = { field: 'col', type: 'nominal', sort: [...names], title: AXIS.col, axis: { labelAngle: -40, labelLimit: 200 } };
  const y = { field: 'row', type: 'nominal', sort: [...names], title: AXIS.row, axis: { labelLimit: 200 } };
  const layer: unknown[] = [
    {
      transform: [{ filter: 'isValid(datum.v)' }],
      mark: { type: 'rect' },
      encoding: {
        color: {
          field: 'v',
          type: 'quantitative',
          title: opts.legend ?? 'H̄ᵢⱼ',
          scale: { type: 'symlog', constant: c, domain: [-m, 0, m], range: [HEAT_PALETTE.negative, HEAT_PALETTE.zero, HEAT_PALETTE.positive], interpolate: 'rgb' },
          legend: { format: '.2~e', gradientLength: Math.max(120, 44 * S) },
        },
      },
    },
  ];
  if (rows.some((r) => r.v === null)) layer.push({ transform: [{ filter: '!isValid(datum.v)' }], mark: { type: 'rect', color: NON_FINITE_COLOUR } });
  if (showValues)
    layer.push({ mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label' }, color: { field: 'ink', type: 'nominal', scale: null, legend: null } } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.subtitle ? { text: opts.title, subtitle: opts.subtitle } : { text: opts.title },
    data: { values: rows },
    width: { step: 56 },
    height: { step: 36 },
    encoding: { x, y },
    layer,
    resolve: { scale: { color: 'independent' } },
    config: { font: 'sans-serif', axis: { labelFontSize: 11 } },
  } as TopLevelSpec;
}

/** Three significant digits, exponent form outside [0.01, 1000). */
function fmt(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  return a >= 0.01 && a < 1000 ? v.toPrecision(3) : v.toExponential(2);
}
