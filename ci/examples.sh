#!/usr/bin/env bash
# Run every example in its fast smoke mode.
#
#   ci/examples.sh [BACKEND] [DEVICE]
#
# Each examples/*.py (files starting with "_" are helpers and are skipped) is
# run as: python FILE --backend BACKEND [--device DEVICE] --smoke
# BACKEND defaults to numpy; --device is passed only when DEVICE is given.
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-numpy}"
device="${2:-}"

shopt -s nullglob
files=()
for f in examples/*.py; do
    [[ "$(basename "$f")" == _* ]] && continue
    files+=("$f")
done

if [[ ${#files[@]} -eq 0 ]]; then
    echo "ci/examples.sh: no examples/*.py yet; nothing to run."
    exit 0
fi

export MPLBACKEND="${MPLBACKEND:-Agg}"  # never open a window

args=(--backend "$backend")
if [[ -n "$device" ]]; then
    args+=(--device "$device")
fi
args+=(--smoke)

failed=()
for f in "${files[@]}"; do
    echo "::: python $f ${args[*]}"
    if python "$f" "${args[@]}"; then
        echo "::: ok: $f"
    else
        rc=$?
        echo "::: FAILED (exit $rc): $f" >&2
        failed+=("$f")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "ci/examples.sh: ${#failed[@]} of ${#files[@]} example(s) failed on backend '$backend': ${failed[*]}" >&2
    exit 1
fi
echo "ci/examples.sh: all ${#files[@]} example(s) ran on backend '$backend'${device:+ (device $device)}."
