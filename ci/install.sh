#!/usr/bin/env bash
# Install agrad (editable, with its test and examples extras) plus one backend of the test matrix.
#
#   ci/install.sh BACKEND
#
# BACKEND names a requirements file in backends/: numpy, array_api_strict,
# torch-cpu, cupy-cuda12, jax.
set -euo pipefail
cd "$(dirname "$0")/.."

known_backends() {
    local f names=()
    for f in backends/*.txt; do
        f="${f##*/}"
        names+=("${f%.txt}")
    done
    echo "${names[*]}"
}

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: ci/install.sh BACKEND   (one of: $(known_backends))" >&2
    exit 2
fi
backend="$1"
req="backends/${backend}.txt"
if [[ ! -f "$req" ]]; then
    echo "ci/install.sh: no requirements file $req" >&2
    echo "known backends: $(known_backends)" >&2
    exit 2
fi

echo "::: installing agrad[test,examples] (editable)"
python -m pip install -e ".[test,examples]"
echo "::: installing backend '$backend' from $req"
python -m pip install -r "$req"
python -m pip list
