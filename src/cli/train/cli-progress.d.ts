// The part of cli-progress (a CommonJS package without bundled types) that `partax train` uses.
declare module 'cli-progress' {
  export interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    fps?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    barsize?: number;
    linewrap?: boolean | null;
    noTTYOutput?: boolean;
    forceRedraw?: boolean;
    autopadding?: boolean;
  }
  export interface Preset {
    barCompleteChar: string;
    barIncompleteChar: string;
    format: string;
  }
  export class SingleBar {
    constructor(opts: Options, preset?: Preset);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export class MultiBar {
    constructor(opts: Options, preset?: Preset);
    create(total: number, startValue: number, payload?: Record<string, unknown>): SingleBar;
    log(text: string): void;
    stop(): void;
  }
  export const Presets: { shades_classic: Preset; shades_grey: Preset; rect: Preset; legacy: Preset };
  const cliProgress: { SingleBar: typeof SingleBar; MultiBar: typeof MultiBar; Presets: typeof Presets };
  export default cliProgress;
}
