#!/usr/bin/env bash
# Build agrad's compiled core (AGRAD_COMPILE=1, setup.py) into the current environment and run
# the test suite on it: the same tests, run against the installed compiled package.
#
#   ci/compiled.sh [BACKENDS] [PYTEST ARGS...]     (as ci/test.sh; needs a C compiler)
#
# ci/check_install.py checks that the installed package is the compiled one (every module that
# setup.py compiles an extension module) and runs the tests from outside the repository's root,
# so that the sources there cannot stand in for it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 && "$1" != -* ]]; then
    export AGRAD_TEST_BACKENDS="$1"
    shift
fi

echo "::: AGRAD_COMPILE=1 pip install \".[test]\""
AGRAD_COMPILE=1 python -m pip install ".[test]"

exec python ci/check_install.py --compiled "$@"
