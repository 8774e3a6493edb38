"""Run one function of a benchmark module in this fresh process; print its result as JSON.

    python benchmarks/_probe.py MODULE FUNCTION '{"keyword": "arguments"}'

Used by ``_harness.peak_rss_of``: a contender's peak memory is measured in a process of its own,
so no other contender's heap, caches or allocator pools are part of it.
"""

import importlib
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

if __name__ == "__main__":
    module, function, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    result = getattr(importlib.import_module(module), function)(**kwargs)
    print(json.dumps(result))
