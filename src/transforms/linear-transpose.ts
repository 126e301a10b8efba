import { flatten, unflatten } from '../core/tree.js';
import { LinearTrace, transposeLinear } from '../interp/linear.js';
import { checkDifferentiable, checkMatching } from './args.js';

/**
 * `linearTranspose(f, ...primals)` returns `fT`, the transpose of a function `f` that is linear in
 * its arguments: `fT(ct)` is Jᵀ·ct, one cotangent per argument (a tuple of trees shaped like
 * `primals`), for every ct shaped like f's output (JAX's `jax.linear_transpose`). `primals` only
 * give the arguments' shapes and dtypes; f is traced once, symbolically, and never evaluated at
 * them, so nothing is computed for the arguments' own values (where `vjp(f, ...primals)` would
 * run f's forward pass at them). Inside f the arguments may only pass through linear operations
 * (sums, scaling by known tensors, matmul with known tensors, reshapes, and the tangent parts of a
 * `jvp`); anything else is an error that names the operation. A part of the output that does not
 * depend on the arguments is treated as zero.
 *
 * With f = t ↦ jvp(L, [θ], [t])[1], `linearTranspose(f, θ)(1)` is ∇L(θ):
 *
 *     const [eta] = linearTranspose((t: Tensor) => jvp(loss, [theta], [mul(u, t)])[1], scalar(0))(scalar(1));
 *     // eta = ⟨∇L(θ), u⟩, with L's forward run at θ itself
 */
export function linearTranspose<A extends readonly unknown[], R>(f: (...args: A) => R, ...primals: A): (ct: R) => A {
  const { leaves, def } = flatten(primals);
  checkDifferentiable('linearTranspose', leaves);
  const inAvals = leaves.map((l) => ({ shape: l.shape, dtype: l.dtype }));
  const lin = new LinearTrace();
  let out: R;
  try {
    out = f(...unflatten<A>(def, leaves.map((l, i) => lin.input(l, i))));
  } catch (e) {
    if (e instanceof Error) e.message = e.message.replace(/^linearize:/, 'linearTranspose:');
    throw e;
  } finally {
    lin.close();
  }
  const outputs = flatten(out).leaves;
  return (ct: R): A => {
    const c = checkMatching('linearTranspose', 'cotangent', out, ct);
    return unflatten<A>(def, transposeLinear(outputs, c.others, inAvals));
  };
}
