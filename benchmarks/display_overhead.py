"""How much the live panel and plots slow a search: the same %%tune cell with and without them, in one real kernel.

A zero-cost objective and 200 random-search trials (the worst case for display overhead: every trial is an event
and nothing else takes time). Runs alternate between the two, several rounds, and the medians are compared.

    python benchmarks/display_overhead.py [--trials 200] [--rounds 5] [--method random] [--sleep 0]

With --sleep S each trial takes S seconds (e.g. --method bayes --trials 30 --sleep 0.5: the score plot redraws
within about a second of each trial, the model views within a trial or two; see widgets.RedrawPace). How soon the
panel shows each trial: liveness.py.
"""

from __future__ import annotations

import argparse
import ast
import os
import queue
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel

CELL = """\
%%tune --method {method} --trials {trials} --seed {seed} --name s {panel}
x = hp.real(-5.0, 5.0)
n = hp.int(1, 100, log=True)
kind = hp.choice(["a", "b", "c"])
time.sleep({sleep})
(x - 1.0) ** 2 + n / 100 + (kind == "b")
"""
MEASURE = "print(repr((s.trials[-1].finished - s.snapshot().started, len(s.trials))))"


def run(kc, code: str, timeout: float = 600) -> tuple[float, str, int]:
    """Execute code; return the wall time until idle, its stdout and how many iopub messages it caused."""
    started = time.perf_counter()
    msg_id = kc.execute(code)
    out, messages = "", 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise SystemExit(f"no answer within {timeout} s") from None
        messages += 1
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out += msg["content"]["text"]
        elif msg["msg_type"] == "error":
            raise SystemExit("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return time.perf_counter() - started, out, messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--method", default="random")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds each trial takes")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as folder:
        km, kc = start_new_kernel(kernel_name="python3", cwd=folder, env=env)
        try:
            run(kc, "%load_ext jupyter_hptune\nimport time")
            run(
                kc, CELL.format(method=args.method, trials=5, seed=99, panel="", sleep=0)
            )  # warm up imports and plotting
            times: dict[str, list[float]] = {"text only (--no-panel)": [], "live panel and plots": []}
            cells: dict[str, list[float]] = {name: [] for name in times}
            traffic: dict[str, list[int]] = {name: [] for name in times}
            for round_ in range(args.rounds):
                order = list(times) if round_ % 2 == 0 else list(times)[::-1]
                for name in order:
                    panel = "--no-panel" if name.startswith("text") else ""
                    cell = CELL.format(
                        method=args.method, trials=args.trials, seed=round_, panel=panel, sleep=args.sleep
                    )
                    wall, _, messages = run(kc, cell)
                    _, out, _ = run(kc, MEASURE)
                    search, count = ast.literal_eval(out.strip())
                    assert count == args.trials, out
                    times[name].append(search)
                    cells[name].append(wall)
                    traffic[name].append(messages)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    base = statistics.median(times["text only (--no-panel)"])
    base_cell = statistics.median(cells["text only (--no-panel)"])
    print(
        f"{args.trials} {'zero-cost' if not args.sleep else f'{args.sleep:g}-second'} {args.method} trials, "
        f"{args.rounds} rounds, median (Python {sys.version.split()[0]})"
    )
    print()
    print("| display | search | ratio | whole cell | ratio | iopub messages |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in times:
        search, cell = statistics.median(times[name]), statistics.median(cells[name])
        print(
            f"| {name} | {search:.3f} s | {search / base:.3f} | {cell:.3f} s | {cell / base_cell:.3f} "
            f"| {statistics.median(traffic[name]):.0f} |"
        )
    ratio = statistics.median(times["live panel and plots"]) / base
    print()
    print(f"search slowdown with the live panel: {100 * (ratio - 1):+.1f}% (target: at most +15%)")


if __name__ == "__main__":
    main()
