#!/usr/bin/env bash
# Lint and format check with ruff (settings in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -m ruff --version >/dev/null 2>&1; then
    echo "::: installing ruff"
    python -m pip install "ruff>=0.6"
fi

targets=()
for d in agrad tests examples benchmarks setup.py _build; do
    [[ -e "$d" ]] && targets+=("$d")
done
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "ci/lint.sh: nothing to lint yet."
    exit 0
fi

python -m ruff --version
echo "::: ruff check ${targets[*]}"
python -m ruff check "${targets[@]}"
echo "::: ruff format --check ${targets[*]}"
python -m ruff format --check "${targets[@]}"
