#!/usr/bin/env python3
"""PyTorch, and the paper's grnewt, as peers of partax's bench (bench/peers/torch.ts starts it).

A small server on one thread: it reads one JSON command a line on stdin and answers one JSON line
on stdout, so the bench can alternate partax's runs with these in time (interleaved rounds) while
this process stays alive. Each run is timed here (wall: time.perf_counter, CPU: time.process_time),
so the pipe's round trip is not counted.

Commands ({"op": ...}):
  hello                                   versions, threads, the BLAS torch loaded, grnewt's state
  setup {id, case, file, sizes, batch, …} prepares a case on a problem file (see read_problem):
        case "mlp":    loss and gradients of the MLP (torch.autograd.grad)
        case "adam":   one torch.optim.Adam step (zero_grad, forward, backward, step); lr
        case "grnewt": grnewt.compute_Hg (order 3, canonical partition) along the problem's u
  run {id, n}                             n timed runs: {"ms": [...], "cpu_ms": [...]}
  result {id}                             the case's numbers, to check against partax's
  drop {id} / quit

The MLP is the bench's: sizes[0]-…-sizes[-1], tanh between layers, log-softmax and mean NLL.
Weights arrive [in, out] (partax's layout) and are used as torch.nn.Linear's [out, in];
gradients and updates go back [in, out].
"""
import os

# one thread, set before torch loads its BLAS and OpenMP runtimes
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import inspect  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass  # already set (it can only be set once)


def blas_library():
    """The BLAS library this process mapped (torch links libblas.so.3 through Debian's alternatives)."""
    torch.ones(2, 2) @ torch.ones(2, 2)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line or "blis" in line or "mkl" in line}
    except OSError:
        return "unknown"
    for path in sorted(paths):
        real = os.path.realpath(path)
        if "openblas" in real:
            return "OpenBLAS" + (" (pthread)" if "pthread" in real else "")
        if "blis" in real:
            return "BLIS"
        if "mkl" in real:
            return "MKL"
        if "atlas" in real:
            return "ATLAS"
    for path in sorted(paths):
        if "libblas.so" in path:
            return "reference BLAS (libblas3: slow; install libopenblas0 for a fair peer)"
    return "unknown"


# ---- grnewt (the paper's code), imported from GRNEWT_ROOT ----

def shim_materialize_grads():
    """grnewt passes materialize_grads=True to torch.autograd.grad, new in torch 2.1. On an older
    torch: drop it, ask for allow_unused=True and turn None results into zeros (what it means)."""
    grad = torch.autograd.grad
    if "materialize_grads" in inspect.signature(grad).parameters:
        return False

    def grad_materialized(outputs, inputs, *args, materialize_grads=False, **kwargs):
        if materialize_grads:
            kwargs["allow_unused"] = True
        result = grad(outputs, inputs, *args, **kwargs)
        if not materialize_grads:
            return result
        seq = (inputs,) if torch.is_tensor(inputs) else tuple(inputs)
        return tuple(torch.zeros_like(i) if r is None else r for r, i in zip(result, seq))

    torch.autograd.grad = grad_materialized
    return True


def import_grnewt():
    """(module, notes) or (None, reason). GRNEWT_ROOT is a checkout of p-wol/GroupedNewton (its
    package is in src/grnewt) or a directory holding the grnewt package."""
    root = os.environ.get("GRNEWT_ROOT")
    if not root:
        return None, "GRNEWT_ROOT is not set (point it at a checkout of github.com/p-wol/GroupedNewton)"
    base = os.path.join(root, "src") if os.path.isdir(os.path.join(root, "src", "grnewt")) else root
    if not os.path.isfile(os.path.join(base, "grnewt", "hg.py")):
        return None, f"GRNEWT_ROOT={root} holds no grnewt package (no src/grnewt/hg.py or grnewt/hg.py)"
    notes = []
    # grnewt/__init__ imports datasets.py (torchvision, torchvision.transforms) and nesterov.py
    # (scipy), which compute_Hg never uses: where they are absent, empty stand-ins let it import
    for name in ("torchvision", "scipy"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            sys.modules[name] = stub
            if name == "torchvision":
                stub.transforms = sys.modules["torchvision.transforms"] = types.ModuleType("torchvision.transforms")
            notes.append(f"{name} absent: stubbed (unused by compute_Hg)")
    if shim_materialize_grads():
        notes.append(f"torch {torch.__version__} lacks materialize_grads: shimmed")
    sys.path.insert(0, base)
    try:
        import grnewt  # noqa: PLC0415
    except Exception as e:  # noqa: BLE001
        return None, f"import grnewt from {base} failed: {type(e).__name__}: {e}"
    return grnewt, notes


GRNEWT, GRNEWT_NOTES = import_grnewt()


# ---- the problem ----

def read_problem(cmd):
    """The problem file: float32 w1 [in, out], b1, w2, b2, …, x [batch, sizes[0]], then int32
    labels [batch], then (with "direction": true) float32 u in the params' layout."""
    sizes, batch = cmd["sizes"], cmd["batch"]
    raw = open(cmd["file"], "rb").read()
    offset = 0

    def take(n, dtype=np.float32):
        nonlocal offset
        a = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
        offset += a.nbytes
        return torch.from_numpy(a.copy())

    def params():
        ps = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            ps.append(take(fan_in * fan_out).reshape(fan_in, fan_out).t().contiguous())  # [out, in]
            ps.append(take(fan_out))
        return ps

    theta = params()
    x = take(batch * sizes[0]).reshape(batch, sizes[0])
    y = take(batch, np.int32).long()
    u = params() if cmd.get("direction") else None
    if offset != len(raw):
        raise ValueError(f"problem file {cmd['file']}: read {offset} of its {len(raw)} bytes: sizes {sizes}, batch {batch} do not fit")
    return theta, x, y, u


def mlp_loss(params, x, y):
    """Mean NLL of a tanh MLP with a log-softmax output (the bench's loss)."""
    h = x
    layers = len(params) // 2
    for l in range(layers):
        h = F.linear(h, params[2 * l], params[2 * l + 1])
        if l < layers - 1:
            h = torch.tanh(h)
    return F.nll_loss(F.log_softmax(h, dim=1), y)


def to_partax_layout(ts):
    """Flat float lists per parameter, weights back to [in, out]."""
    return [(t.t() if t.dim() == 2 else t).contiguous().reshape(-1).tolist() for t in ts]


def mlp_case(cmd):
    theta, x, y, _ = read_problem(cmd)
    params = [p.requires_grad_() for p in theta]
    state = {}

    def run():
        loss = mlp_loss(params, x, y)
        state["out"] = (loss, torch.autograd.grad(loss, params))

    def result():
        run()
        loss, grads = state["out"]
        return {"loss": loss.item(), "grads": to_partax_layout(grads)}

    return run, result


def adam_case(cmd):
    theta, x, y, _ = read_problem(cmd)
    lr = cmd["lr"]

    def fresh():
        params = [p.clone().requires_grad_() for p in theta]
        return params, torch.optim.Adam(params, lr=lr)

    def step(params, opt):
        opt.zero_grad(set_to_none=True)
        loss = mlp_loss(params, x, y)
        loss.backward()
        opt.step()
        return loss.item()

    timed = fresh()

    def run():
        step(*timed)

    def result():
        params, opt = fresh()
        losses = [step(params, opt) for _ in range(cmd["check_steps"])]
        with torch.no_grad():
            updates = [p - p0 for p, p0 in zip(params, theta)]
        return {"losses": losses, "updates": to_partax_layout(updates)}

    return run, result


def grnewt_case(cmd):
    if GRNEWT is None:
        raise RuntimeError(GRNEWT_NOTES)
    theta, x, y, u = read_problem(cmd)
    sizes = cmd["sizes"]
    # the paper's model and partition: grnewt's Perceptron (tanh, log-softmax output), canonical groups
    model = GRNEWT.models.Perceptron(sizes, torch.tanh)
    with torch.no_grad():
        for p, t in zip(model.parameters(), theta):
            if p.shape != t.shape:
                raise ValueError(f"grnewt Perceptron parameter of shape {list(p.shape)} for a problem tensor {list(t.shape)}")
            p.copy_(t)
    param_groups, _names = GRNEWT.partition.canonical(model)
    param_struct = GRNEWT.ParamStructure(param_groups)
    direction = tuple(u)

    def full_loss(x_, y_):
        return F.nll_loss(model(x_), y_)

    state = {}

    def run():
        state["out"] = GRNEWT.compute_Hg(param_struct, full_loss, x, y, direction)

    def result():
        run()
        H, g, order3 = state["out"]
        with torch.no_grad():
            loss = full_loss(x, y).item()
        return {"loss": loss, "g": g.reshape(-1).tolist(), "H": H.reshape(-1).tolist(), "order3": order3.reshape(-1).tolist()}

    return run, result


def formula_matrix(rows, cols, offset):
    """The bench's deterministic matrix: entry i (row-major, from offset) = ((i·2654435761) mod 1000)/1000 − 0.5."""
    i = np.arange(offset, offset + rows * cols, dtype=np.int64)
    return torch.from_numpy(((i * 2654435761) % 1000 / 1000 - 0.5).astype(np.float32).reshape(rows, cols))


def mm_case(cmd):
    """C = op(A)·B, A stored [m, k] (or [k, m] and transposed with "trans_a"), B [k, n]."""
    m, k, n = cmd["m"], cmd["k"], cmd["n"]
    a = formula_matrix(k, m, 0).t() if cmd.get("trans_a") else formula_matrix(m, k, 0)
    b = formula_matrix(k, n, m * k)
    state = {}

    def run():
        state["c"] = torch.mm(a, b)

    def result():
        run()
        return {"c": state["c"].reshape(-1).tolist()}

    return run, result


CASES = {"mlp": mlp_case, "adam": adam_case, "grnewt": grnewt_case, "mm": mm_case}


def main():
    cases = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "hello":
                out = {
                    "torch": torch.__version__,
                    "python": sys.version.split()[0],
                    "threads": torch.get_num_threads(),
                    "blas": blas_library(),
                    "grnewt": GRNEWT is not None,
                    "grnewt_notes": GRNEWT_NOTES if GRNEWT is not None else [],
                    "grnewt_reason": None if GRNEWT is not None else GRNEWT_NOTES,
                }
            elif op == "setup":
                if cmd["case"] not in CASES:
                    raise ValueError(f"unknown case {cmd['case']!r} (known: {', '.join(CASES)})")
                cases[cmd["id"]] = CASES[cmd["case"]](cmd)
                out = {}
            elif op == "run":
                run = cases[cmd["id"]][0]
                ms, cpu_ms = [], []
                for _ in range(cmd["n"]):
                    c0, t0 = time.process_time(), time.perf_counter()
                    run()
                    ms.append((time.perf_counter() - t0) * 1e3)
                    cpu_ms.append((time.process_time() - c0) * 1e3)
                out = {"ms": ms, "cpu_ms": cpu_ms}
            elif op == "result":
                out = cases[cmd["id"]][1]()
            elif op == "drop":
                cases.pop(cmd["id"], None)
                out = {}
            elif op == "quit":
                break
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # noqa: BLE001
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
