#!/usr/bin/env bash
# A probe, not a build: what compiling agrad's hot path to C would buy on scenario D.
#
# Copies agrad/ to a temporary directory, compiles its three hot modules (_op, _tape, _tensor)
# with Cython exactly as they are (pure Python, no type declarations), and runs scenario D
# there, then on the interpreted package, each in its own process with its own hand-written
# baseline. Nothing here changes how agrad is installed; the compiled copy is deleted at the end.
#
#   pip install cython        # and a C compiler
#   bash benchmarks/compiled_core.sh [suite.py options, default: --threads 1]
#
# benchmarks/README.md ("D: an eager tape's floor, and a compiled core") has the figures.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--threads 1)
command -v cythonize >/dev/null || { echo "compiled_core.sh: needs Cython (pip install cython)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/agrad" "$work/agrad"
(cd "$work" && cythonize -i -3 -q agrad/_op.py agrad/_tape.py agrad/_tensor.py >/dev/null)

run() {  # $1: the directory agrad is imported from (run from there: python -c puts the
    # current directory first on sys.path)
    cd "$1"
    PYTHONPATH="$1" python -c 'import agrad._op as m; print("agrad._op from", m.__file__)'
    PYTHONPATH="$1" python "$here/benchmarks/suite.py" --scenario D --peers minimal_tape \
        --no-extra "${args[@]}"
}
echo "== compiled with Cython (untyped) =="
run "$work"
echo "== interpreted =="
run "$here"
