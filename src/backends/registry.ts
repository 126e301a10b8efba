import type { Backend } from './backend.js';
import { cpuBackend } from './cpu/index.js';

const backends = new Map<string, Backend>([['cpu', cpuBackend]]);
let current = 'cpu';

/** Registers a backend by name (used by optional backends such as webgpu). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** The backend of that name, or the default one. */
export function getBackend(name?: string): Backend {
  const b = backends.get(name ?? current);
  if (!b) throw new Error(`unknown backend '${name}' (available: ${[...backends.keys()].join(', ')})`);
  return b;
}

/** Selects the default backend for new tensors. */
export function setBackend(name: string): void {
  getBackend(name);
  current = name;
}

/** The name of the default backend. */
export const defaultBackend = (): string => current;
