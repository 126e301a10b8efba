import { solveSymmetric } from './small-linalg.js';

/** η = (H̄ + ridge·I)⁻¹ ḡ, with a note when H̄ is singular or ill-conditioned. */
export function newtonLrs(H: readonly (readonly number[])[], g: readonly number[], ridge: number): { lrs: number[] | null; found: boolean; notes: string[] } {
  const A = H.map((row, i) => row.map((v, j) => (i === j ? v + ridge : v)));
  const res = solveSymmetric(A, g);
  return { lrs: res.x, found: res.x !== null, notes: res.notes };
}
