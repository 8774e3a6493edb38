#!/usr/bin/env bash
# Run the test suite, optionally restricted to some backends.
#
#   ci/test.sh [BACKENDS] [PYTEST ARGS...]
#
# BACKENDS is a comma-separated list (e.g. "torch" or "numpy,array_api_strict"),
# passed to the suite's conftest through AGRAD_TEST_BACKENDS. An empty string,
# or no argument at all, means every installed backend (an AGRAD_TEST_BACKENDS
# already in the environment is kept when no argument is given). Anything after
# BACKENDS goes to pytest; if the first argument starts with "-" it is taken as
# a pytest argument and no backend list is set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 && "$1" != -* ]]; then
    AGRAD_TEST_BACKENDS="$1"
    shift
fi

if [[ -n "${AGRAD_TEST_BACKENDS:-}" ]]; then
    export AGRAD_TEST_BACKENDS
    echo "::: pytest on backends: $AGRAD_TEST_BACKENDS"
else
    unset AGRAD_TEST_BACKENDS
    echo "::: pytest on every installed backend"
fi

# pytest's exit status (5 = no tests collected included) is this script's.
exec python -m pytest -q "$@"
