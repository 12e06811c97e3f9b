#!/usr/bin/env bash
# Install the whole stack into ./.venv (idempotent; the first run builds mmcv, ~20 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=${PYTHON:-python3}
venv=${VENV:-$root/.venv}
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -c "$root/constraints.txt")

"${pip[@]}" setuptools wheel ninja torch torchvision numpy opencv-python mmengine
if ! "$venv/bin/python" -c "import mmcv, mmcv.ops" 2>/dev/null; then
  # mmcv ships only an sdist: build its ops against the installed torch. An mmcv whose ops no
  # longer load (built against another torch) is rebuilt, not taken again from pip's cache.
  rebuild=()
  "$venv/bin/python" -c "import mmcv" 2>/dev/null && rebuild=(--force-reinstall --no-deps --no-cache-dir)
  CXX="$root/tools/cxx20" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
    "${pip[@]}" --no-build-isolation "${rebuild[@]}" mmcv
  "$venv/bin/python" -c "import mmcv.ops"   # fails the install here, not in the tests
fi
"$venv/bin/python" -c "import chumpy" 2>/dev/null || "${pip[@]}" --no-build-isolation chumpy
"${pip[@]}" mmdet mmpose mediapipe opencv-contrib-python
"${pip[@]}" -e "$root[test,lite,web,onnx,export,bench,mnn,remote,server]"

# From Debian, when apt is usable: real test footage (photos and videos) in opencv-doc, and
# the headless browser that tests the web view (chromium, chromium-driver), and promtool
# (prometheus), which checks the web view's /metrics/prometheus.
missing=()
[ -f /usr/share/doc/opencv-doc/opencv4/html/handSrc.jpg ] || missing+=(opencv-doc)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v promtool >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    || echo "warning: could not install ${missing[*]}; the tests that need them will fail" >&2
fi
echo "installed into $venv"
