#!/usr/bin/env bash
# The GPU job: install the CuPy backend, check that a CUDA device is there,
# then run the GPU-marked tests, the whole suite on CuPy, the examples on CUDA, and the
# GPU-marked tests on the compiled core.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "::: installing the cupy-cuda12 backend"
bash ci/install.sh cupy-cuda12

echo "::: checking for a CUDA device"
if ! python -c "import cupy; n = cupy.cuda.runtime.getDeviceCount(); assert n > 0; print(f'CUDA devices: {n}')"; then
    echo "ci/gpu.sh: CuPy cannot see a CUDA device; this job needs a GPU runner." >&2
    exit 1
fi

echo "::: tests marked gpu (every installed backend)"
bash ci/test.sh "" -m gpu

echo "::: whole suite on cupy"
bash ci/test.sh cupy

echo "::: examples on cupy / cuda"
bash ci/examples.sh cupy cuda

# Last, as it replaces the editable install with a regular one: the compiled core, which the
# release's wheels ship, on the GPU too.
echo "::: the compiled core (AGRAD_COMPILE=1): tests marked gpu"
bash ci/compiled.sh "" -m gpu
