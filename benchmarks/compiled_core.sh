#!/usr/bin/env bash
# The benchmark suite on agrad's compiled core and on the interpreted package, one after the
# other, each in its own process with its own hand-written baselines.
#
# Builds the compiled core exactly as `AGRAD_COMPILE=1 pip install .` does (setup.py), into a
# temporary directory that goes first on PYTHONPATH; the environment's own agrad (say, the
# editable install) is left as it is. Needs a C compiler; pip fetches Cython for the build.
#
#   bash benchmarks/compiled_core.sh [suite.py options, default: --scenario D --threads 1]
#
# benchmarks/README.md ("A compiled core") has the figures.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--scenario D --threads 1)
if ! command -v cc >/dev/null && ! command -v gcc >/dev/null; then
    echo "compiled_core.sh: needs a C compiler (cc or gcc) to build the compiled core" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "== building the compiled core (AGRAD_COMPILE=1) into $work/site =="
(cd "$here" && AGRAD_COMPILE=1 python -m pip install -q --no-deps --target "$work/site" .)

run() {  # $1: a directory to put first on PYTHONPATH ("" for none); run outside the repository,
    # so that its agrad/ directory cannot stand in for the one meant
    cd "$work"
    PYTHONPATH="$1" python -c 'import agrad; print("agrad from", agrad.__file__, "compiled:", agrad.COMPILED)'
    PYTHONPATH="$1" python "$here/benchmarks/suite.py" "${args[@]}"
}
echo "== compiled core =="
run "$work/site"
echo "== interpreted =="
run ""
