#!/usr/bin/env bash
# benchmarks/throughput.py on a lent GPU machine (JAX + CUDA there, no TensorFlow, no Keras) in one go.
#
#   bash benchmarks/throughput_gpu.sh download   # here, once: Keras, KerasTuner and their small needs as wheels in .whl/
#   # then, through the device tool:  run(command="bash benchmarks/throughput_gpu.sh run", carry=[".whl"], timeout_s=560)
#
# `run` installs the wheels into /tmp/site, prints the GPU, and runs the benchmark on the JAX backend at 1M rows
# (plain Keras fit from NumPy, automl's trial fed from the host, automl's trial with the matrix on the device,
# and a 120 s network search); the table is also written to $OUT/throughput_gpu.md when $OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-run}" in
  download)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d .whl \
      keras==3.15.1 keras-tuner==1.4.8 kt-legacy==1.0.5 namex==0.1.0 optree==0.20.0
    ls -la .whl ;;
  run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
    python3 benchmarks/throughput.py --rows "${ROWS:-1000000}" --batch 1024 8192 32768 --epochs 4 \
      --search-budget "${SEARCH_S:-120}" | tee "${OUT:-/tmp}/throughput_gpu.md" ;;
  *) echo "usage: $0 download|run" >&2; exit 2 ;;
esac
