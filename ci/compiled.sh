#!/usr/bin/env bash
# Build agrad's compiled core (AGRAD_COMPILE=1, setup.py) into the current environment and run
# the test suite on it: the same tests, run against the installed compiled package.
#
#   ci/compiled.sh [BACKENDS] [PYTEST ARGS...]     (as ci/test.sh; needs a C compiler)
#
# The installed package is checked to be the compiled one, and the tests run from outside the
# repository's root, so that the sources there cannot stand in for it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

if [[ $# -gt 0 && "$1" != -* ]]; then
    export AGRAD_TEST_BACKENDS="$1"
    shift
fi

echo "::: AGRAD_COMPILE=1 pip install \".[test]\""
AGRAD_COMPILE=1 python -m pip install ".[test]"

cd "$repo/tests"  # (python -m puts the current directory first on sys.path)
python - <<'PY'
import agrad

where = agrad.__file__
if "site-packages" not in where:
    raise SystemExit(f"ci/compiled.sh: agrad imported from {where}, not from the install")
if not agrad.COMPILED:
    raise SystemExit(f"ci/compiled.sh: agrad at {where} is not compiled (agrad.COMPILED False)")
print(f"::: agrad compiled, from {where}")
PY
echo "::: pytest on ${AGRAD_TEST_BACKENDS:-every installed backend}, compiled core"
exec python -m pytest -q -p no:cacheprovider --rootdir "$repo" -c "$repo/pyproject.toml" "$repo/tests" "$@"
