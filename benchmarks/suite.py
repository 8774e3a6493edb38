"""agrad and its peers side by side, each as a ratio to hand-written NumPy backprop (issue #6).

Six scenarios, each in its own module, all run in one process (C's memory probes and its
1,000,000-op run excepted: one fresh process per contender), contenders interleaved and
repeated, gradients checked before anything is timed:

    A  1,000 small elementwise ops on float64[16], forward + backward     (elementwise.py)
    B  MLP 784-1024-1024-10 float32 training step, and its BLAS fraction  (mlp.py)
    C  100,000 scalar ops, time and peak memory; 1,000,000 must complete  (scalar_chain.py)
    D  XOR 2-2-1 network (examples/xor.py), 2,000 gradient-descent steps  (xor_gd.py)
    E  peak memory of one B step, and no growth over 1,000 steps          (mlp_memory.py)
    F  Hessian-vector product of B's loss                                 (mlp_hvp.py)

    python benchmarks/suite.py                        # everything (about 6 minutes here)
    python benchmarks/suite.py --scenario A,B         # some scenarios
    python benchmarks/suite.py --smoke --json out.json   # tiny sizes, one round (CI)
    python benchmarks/suite.py --device cuda          # on a GPU: agrad on CuPy vs torch CUDA

Peers (torch, HIPS autograd, MyGrad) are used where installed and skipped with a note where
not: pip install -r benchmarks/requirements.txt. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

SCENARIOS = {
    "A": "elementwise",
    "B": "mlp",
    "C": "scalar_chain",
    "D": "xor_gd",
    "E": "mlp_memory",
    "F": "mlp_hvp",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scenario",
        default=",".join(SCENARIOS),
        help="comma-separated scenarios to run, from A-F (default: all)",
    )
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one round (CI: it runs)")
    p.add_argument("--json", metavar="PATH", help="also write every figure, raw times included")
    p.add_argument(
        "--repeats", type=int, default=None, help="timed rounds per scenario (default: its own)"
    )
    p.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="cpu (agrad on NumPy, default) or cuda (agrad on CuPy, torch on CUDA, baselines "
        "written by hand in CuPy)",
    )
    p.add_argument(
        "--no-extra", action="store_true", help="skip agrad on array_api_strict and torch"
    )
    p.add_argument(
        "--peers",
        default=None,
        help="comma-separated peers to run, from torch,autograd,mygrad,minimal_tape,"
        "checked_tape, or 'none' (default: every one installed)",
    )
    p.add_argument(
        "--ops", type=int, default=None, help="scenario C's chain length (default 100000)"
    )
    p.add_argument(
        "--big-ops",
        type=int,
        default=None,
        help="scenario C's must-complete run (default 1000000; 0 skips it)",
    )
    p.add_argument(
        "--big-peers",
        action="store_true",
        help="also run the peers (torch, autograd) at --big-ops, not only agrad",
    )
    p.add_argument("--steps", type=int, default=None, help="scenario E's steps (default 1000)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for NumPy's BLAS and torch (sets OMP/OPENBLAS/MKL_NUM_THREADS before "
        "they load; default: the libraries' own, all cores)",
    )
    args = p.parse_args(argv)
    chosen = [s.strip().upper() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        p.error(f"--scenario takes letters from {','.join(SCENARIOS)}, got {args.scenario!r}")
    args.scenario = [s for s in SCENARIOS if s in chosen]
    for name in ("repeats", "ops", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be at least 1")
    if args.big_ops is not None and args.big_ops < 0:
        p.error("--big-ops must be at least 0")
    if args.threads is not None:
        if args.threads < 1:
            p.error("--threads must be at least 1")
        if "numpy" in sys.modules:  # pragma: no cover - main() called from Python
            p.error("--threads must be set before NumPy is imported: run suite.py as a script")
        for var in THREAD_VARS:  # before NumPy (via _harness) and torch start their pools
            os.environ[var] = str(args.threads)
    from _harness import PEERS  # NumPy loads here, after the thread count is set

    if args.peers is not None:
        peers = [s.strip() for s in args.peers.split(",") if s.strip()]
        if peers == ["none"]:
            peers = []
        bad = [s for s in peers if s not in PEERS]
        if bad:
            p.error(f"--peers takes names from {','.join(PEERS)} or 'none', got {bad}")
        args.peers = peers
    return args


def summary(results):
    """The issue's targets, measured (never asserted), and every contender's ratio."""
    from _harness import fmt_ratio, print_table

    rows = []
    for letter, res in results.items():
        for t in res["targets"]:
            rows.append({"scenario": letter, **t})
    print_table(
        "Summary: the issue's targets (measured here, not asserted)",
        rows,
        [
            ("scenario", lambda r: r["scenario"]),
            ("target", lambda r: r["target"], "<"),
            ("measured", lambda r: r["measured"], "<"),
            ("", lambda r: {True: "met", False: "not met", None: "not measured"}[r["met"]], "<"),
        ],
    )
    ratios = []
    for letter, res in results.items():
        for r in res.get("rows", []):
            if r.get("ratio") is not None:
                ratios.append({"scenario": letter, **r})
    if ratios:
        print_table(
            "Summary: median time as a ratio to the hand-written baseline (and to torch)",
            ratios,
            [
                ("scenario", lambda r: r["scenario"]),
                ("contender", lambda r: r["contender"], "<"),
                ("vs by hand", lambda r: fmt_ratio(r["ratio"])),
                ("vs torch", lambda r: fmt_ratio(r["vs_torch"])),
            ],
        )
    return rows


def main(argv=None):
    args = parse_args(argv)
    import _harness  # after parse_args: --threads must reach NumPy before it loads
    from _harness import BenchmarkError, Context

    started = time.perf_counter()
    try:
        ctx = Context(args)
        env = _harness.environment(ctx)
        print(
            f"agrad benchmark suite: scenarios {','.join(args.scenario)} on {args.device}"
            + (" [smoke]" if args.smoke else "")
        )
        print(
            f"Python {env.get('python')}, NumPy {env.get('numpy')}"
            + "".join(
                f", {k} {env[k]}" for k in ("torch", "autograd", "mygrad", "cupy") if k in env
            )
            + f"; {env.get('cpu') or env.get('machine')}, {env.get('cpus')} CPUs"
            + (f"; commit {env['commit']}" if env.get("commit") else "")
            + (f"; {args.threads} thread(s) for BLAS and torch" if args.threads else "")
        )
        print(f"agrad: {env.get('agrad_core')}")
        results = {}
        for letter in args.scenario:
            module = importlib.import_module(SCENARIOS[letter])
            t0 = time.perf_counter()
            results[letter] = module.run(ctx)
            results[letter]["wall_seconds"] = time.perf_counter() - t0
    except BenchmarkError as e:
        print(e.code, file=sys.stderr)
        return 1
    targets = summary(results)
    print(f"\n(suite ran in {time.perf_counter() - started:.0f} s)")
    if args.json:
        _harness.write_json(
            args.json,
            {
                "benchmark": "suite",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "args": vars(args),
                "environment": env,
                "notes": ctx.notes,
                "scenarios": results,
                "targets": targets,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
