import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * V8 keeps the hidden classes (maps) of partax's traces and tracers across full collections
 * (`keepHiddenClasses`, src/prim/bind.ts). Those objects live only while a transform runs; a full
 * collection between two transforms (the cpu-wasm heap forces one every ~20 eager training steps)
 * would drop their maps, and V8 would deoptimize every function compiled against them ("marking
 * dependent code … for deoptimization, reason: weak objects" in --trace-deopt) and compile them
 * again on the second core.
 *
 * A subprocess runs eager gradient steps until `bind` is optimized, forces full collections with
 * no transform running (three: V8 keeps a map that optimized code names for two more), and runs more steps, under --trace-opt --trace-deopt. A control class of
 * its own, whose instances all die before the collections, shows that this V8 reports such
 * deoptimizations (else the check below would pass for nothing).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const SCRIPT = `
import * as P from './src/index.ts';
class Base { constructor(k) { this.k = k; } }
class Leaf extends Base { constructor(k) { super(k); this.v = k * 2; } }
function readLeaf(n) { return n.k + n.v; }
function churn() { let s = 0; for (let i = 0; i < 20000; i++) s += readLeaf(new Leaf(i)); return s; }
let s = 0;
for (let r = 0; r < 30; r++) s += churn();
const x = P.tensor([[0.5, -1, 2], [1, 0.25, -0.5]], 'float64');
const loss = (w) => P.sum(P.tanh(P.matmul(x, w)));
let w = P.tensor([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]], 'float64');
const steps = () => { for (let i = 0; i < 400; i++) w = P.sub(w, P.mul(P.grad(loss)(w), 0.01)); };
steps();
console.log('MARK before collection', s);
// V8 retains a map that optimized code embeds for two more full collections (--retain-maps-for-n-gc)
globalThis.gc();
globalThis.gc();
globalThis.gc();
console.log('MARK after collection');
steps();
console.log('MARK done', w.dataSync()[0]);
`;

for (const backend of ['cpu', 'cpu-wasm']) {
  test(`traces and tracers keep their hidden classes across full collections: no partax function is deoptimized for a dead map (${backend})`, () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--trace-opt', '--trace-deopt', '--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PARTAX_BACKEND: backend },
      maxBuffer: 256 * 2 ** 20,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = (mark: string) => lines.findIndex((l) => l.startsWith(`MARK ${mark}`));
    const [before, after, done] = [at('before collection'), at('after collection'), at('done')];
    assert.ok(before > 0 && after > before && done > after, 'the script ran to its end');
    const deoptedForDeadMaps = (from: number, to: number) =>
      lines
        .slice(from, to)
        .filter((l) => l.includes('marking dependent code') && l.includes('weak objects'))
        .map((l) => /SharedFunctionInfo ([^>]*)>/.exec(l)?.[1] ?? l);
    const optimizedBefore = lines.slice(0, before).filter((l) => l.includes('completed optimizing') || l.includes('completed compiling'));
    assert.ok(
      optimizedBefore.some((l) => /<JSFunction bind /.test(l)),
      'bind (prim/bind.ts) is optimized before the collection (else nothing could be deoptimized)',
    );
    const dropped = deoptedForDeadMaps(before, done);
    assert.ok(['Leaf', 'readLeaf', 'churn'].some((f) => dropped.includes(f)), `control: this V8 reports the deoptimization of code whose maps died (saw: ${dropped.join(', ') || 'none'})`);
    const ours = ['bind', 'lift', 'process', 'Tracer', 'JVPTracer', 'LinearTracer', 'get shape', 'get dtype', 'broadcastTo', 'align', 'unpack', 'flatten', 'map', 'broadcastShapes', 'stridedCopy', 'sizeOf', 'shapeEq'];
    const hit = dropped.filter((name) => ours.includes(name));
    assert.deepEqual(hit, [], `partax functions deoptimized because a map died: ${hit.join(', ')}`);
  });
}
