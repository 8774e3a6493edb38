#!/usr/bin/env bash
# What a release builds, and the checks each piece passes before it is published
# (.github/workflows/release.yml runs these; each runs by hand too).
#
#   ci/release.sh dist       the sdist and the pure-Python wheel (py3-none-any) into dist/;
#                            then, each in a fresh virtualenv, the pure wheel (what pip
#                            installs where no compiled wheel fits) and the sdist built with
#                            AGRAD_COMPILE=1 (what `pip install --no-binary agrad` then does),
#                            each checked and tested by ci/check_install.py
#   ci/release.sh wheels     the compiled wheels for this machine's platform into wheelhouse/,
#                            by cibuildwheel (pyproject.toml's [tool.cibuildwheel]: CPython
#                            3.10-3.13, each wheel tested with the whole suite); Linux wheels
#                            are built in manylinux/musllinux containers: Docker or Podman
#   ci/release.sh check-tag TAG FILE...
#                            every file's version is TAG's (v0.1.0 -> 0.1.0), and so are
#                            pyproject.toml's and agrad.__version__
#
# pip prefers a compiled wheel that fits the platform and Python, then the pure wheel; the sdist
# is for `pip install --no-binary agrad agrad` (interpreted, or compiled with AGRAD_COMPILE=1
# and --no-cache-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

CIBUILDWHEEL="cibuildwheel==4.3.5"

version() {  # pyproject.toml's version
    python - <<'PY'
import re, pathlib
text = pathlib.Path("pyproject.toml").read_text(encoding="utf-8")
print(re.search(r'^version = "([^"]+)"', text, re.M).group(1))
PY
}

fresh_venv() {  # fresh_venv DIR: create it and activate it in this shell
    python -m venv "$1"
    if [[ -f "$1/Scripts/activate" ]]; then
        # shellcheck disable=SC1091
        source "$1/Scripts/activate"
    else
        # shellcheck disable=SC1091
        source "$1/bin/activate"
    fi
    python -m pip install -q --upgrade pip
}

dist() {
    python -m pip install -q build
    rm -rf dist
    python -m build --outdir dist .  # the sdist, then the wheel built from it
    local v sdist wheel
    v="$(version)"
    sdist="dist/agrad-$v.tar.gz"
    wheel="dist/agrad-$v-py3-none-any.whl"
    for f in "$sdist" "$wheel"; do
        [[ -f "$f" ]] || { echo "ci/release.sh: $f was not built; dist/ has: $(ls dist)" >&2; exit 1; }
    done
    work="$(mktemp -d "${TMPDIR:-/tmp}/agrad-release.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    (
        fresh_venv "$work/pure"
        echo "::: the pure wheel: pip install ${wheel}[test]"
        python -m pip install -q "$repo/${wheel}[test]"
        python ci/check_install.py --pure
    )
    (
        fresh_venv "$work/sdist"
        echo "::: the sdist, compiled: AGRAD_COMPILE=1 pip install ${sdist}[test]"
        # (--no-cache-dir: pip keeps the wheels it builds from an sdist, keyed by where the
        # sdist lies, and would install one built before, or built without AGRAD_COMPILE)
        AGRAD_COMPILE=1 python -m pip install -q --no-cache-dir "agrad[test] @ file://$repo/$sdist"
        python ci/check_install.py --compiled
    )
}

wheels() {
    python -m pip install -q "$CIBUILDWHEEL"
    python -m cibuildwheel --output-dir wheelhouse .
    ls -l wheelhouse
}

check_tag() {
    local tag="$1" v
    shift
    v="$(version)"
    if [[ "$tag" != "v$v" ]]; then
        echo "ci/release.sh: tag $tag does not name pyproject.toml's version $v (expected v$v)" >&2
        exit 1
    fi
    local init
    init="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' agrad/__init__.py)"
    if [[ "$init" != "$v" ]]; then
        echo "ci/release.sh: agrad.__version__ is $init, pyproject.toml's version $v" >&2
        exit 1
    fi
    local f base
    for f in "$@"; do
        base="${f##*/}"
        if [[ "$base" != "agrad-$v-"*.whl && "$base" != "agrad-$v.tar.gz" ]]; then
            echo "ci/release.sh: $base is not version $v" >&2
            exit 1
        fi
    done
    echo "::: $# files, all version $v (tag $tag)"
}

case "${1:-}" in
dist) dist ;;
wheels) wheels ;;
check-tag)
    [[ $# -ge 3 ]] || { echo "usage: ci/release.sh check-tag TAG FILE..." >&2; exit 2; }
    shift
    check_tag "$@"
    ;;
*)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2  # (the header)
    exit 2
    ;;
esac
