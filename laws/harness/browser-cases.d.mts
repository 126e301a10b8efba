// Types of ./browser-cases.mjs (plain JavaScript, so that a page can import it as it is).
type Partax = typeof import('../../src/browser.js');
type Backend = 'cpu' | 'cpu-wasm' | 'webgpu';
export function gradient(P: Partax, backend: Backend): Promise<{ x: number[]; value: number; grad: number[] }>;
export function summary3(P: Partax, backend: Backend): Promise<{ loss: number; g: number[]; H: number[]; order3: number[] }>;
export function newtonSteps(P: Partax, backend: Backend): Promise<{ loss: number; lrs: number[]; params: number[] }[]>;
export function wasmWork(P: Partax, backend: Backend, threads?: number): Promise<{ loss: number; grad: number[]; threads: number }>;
export function jitGradient(P: Partax, backend: Backend): Promise<{ loss: number; grad: number[] }>;
