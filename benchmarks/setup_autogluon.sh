#!/usr/bin/env bash
# Create AutoGluon's own virtualenv for benchmarks/vs_peers.py (--peers autogluon).
#
# AutoGluon 1.6 pins pandas < 2.4 while automl runs on pandas 3, so the two cannot share an
# environment: AutoGluon lives in benchmarks/.venv-autogluon (ignored by git) and vs_peers.py
# talks to it through files (benchmarks/run_autogluon.py). Usage:
#
#     bash benchmarks/setup_autogluon.sh            # idempotent: does nothing once the stamp exists
#     PYTHON=python3.11 bash benchmarks/setup_autogluon.sh
#
# `autogluon.tabular[all]` is how AutoGluon's install guide sets up tabular: every model family of
# the default preset (LightGBM, CatBoost, XGBoost, random forests, extra trees, KNN and the two
# torch/fastai networks). torch is installed first from a CPU-only wheel when one is available, so
# pip does not pull the multi-gigabyte CUDA build for a CPU run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${AUTOGLUON_VENV:-$here/.venv-autogluon}"
stamp="$venv/.installed"
version="${AUTOGLUON_VERSION:-1.6.3}"
if [[ -f "$stamp" ]]; then
    echo "AutoGluon venv ready: $venv"
    exit 0
fi
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# A CPU build of torch first: AUTOGLUON_TORCH (a wheel path or requirement) or the "+cpu" wheel of the
# machine's wheel cache when it has one; otherwise pip picks torch from the index.
cpu_torch="${AUTOGLUON_TORCH:-$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)}"
if [[ -n "$cpu_torch" ]]; then
    "$venv/bin/python" -m pip install -q "$cpu_torch"
fi
"$venv/bin/python" -m pip install -q "autogluon.tabular[all]==$version" pyarrow
"$venv/bin/python" -c "import autogluon.tabular, pandas; print('autogluon.tabular', autogluon.tabular.__version__, 'pandas', pandas.__version__)"
touch "$stamp"
echo "AutoGluon venv ready: $venv"
