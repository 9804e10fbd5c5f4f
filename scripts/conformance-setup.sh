#!/usr/bin/env bash
# Makes the Python venv the conformance tier (npm run conformance) and the side-by-side benches use as
# their outside oracle: CPU torch 2.13.0 + transformers 5.18.0, pinned. Python is never a dependency of
# the product; only tests and benches run it.
#
# Packages come from the local package index pip is configured with on these machines (`pip config
# list`: index URLs and find-links on local disk). The public index is unreachable here, so a local one
# is named as the only index (--index-url): otherwise pip spends minutes retrying pypi.org.
# Idempotent: a venv that already imports the pinned versions returns in about a second.
# Fails loudly (non-zero exit, with the reason) when the venv cannot be made.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH=2.13.0
TRANSFORMERS=5.18.0
VENV="${HC_CONFORMANCE_VENV:-.cache/conformance-venv}"
PY="${PYTHON:-python3}"
log() { echo "[conformance-setup] $*"; }

check() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<PYEOF 2>/dev/null
import torch, transformers, safetensors
assert torch.__version__.split("+")[0] == "$TORCH", torch.__version__
assert transformers.__version__ == "$TRANSFORMERS", transformers.__version__
PYEOF
}

if check; then
  log "venv $VENV has torch $TORCH and transformers $TRANSFORMERS"
  exit 0
fi

# Local sources from pip's configuration (any scope), plus PIP_* environment variables.
config="$("$PY" -m pip config list 2>/dev/null || true)"
value() { printf '%s\n' "$config" | sed -n "s/^[^=]*\.$1='\(.*\)'\$/\1/p"; }
indexes=()
for v in $(value index-url) $(value extra-index-url) ${PIP_INDEX_URL:-} ${PIP_EXTRA_INDEX_URL:-}; do
  case "$v" in file://*|/*) [[ " ${indexes[*]} " == *" $v "* ]] || indexes+=("$v") ;; esac
done
links=()
for v in $(value find-links) ${PIP_FIND_LINKS:-}; do
  case "$v" in file://*|/*) [[ " ${links[*]} " == *" $v "* ]] || links+=("$v") ;; esac
done
if [ ${#indexes[@]} -eq 0 ] && [ ${#links[@]} -eq 0 ]; then
  echo "[conformance-setup] pip names no local package index or find-links folder (pip config list: $config); cannot install torch $TORCH and transformers $TRANSFORMERS without the public index" >&2
  exit 1
fi
args=()
if [ ${#indexes[@]} -gt 0 ]; then
  args+=(--index-url "${indexes[0]}")
  for v in "${indexes[@]:1}"; do args+=(--extra-index-url "$v"); done
else
  args+=(--no-index)
fi
for v in "${links[@]}"; do args+=(--find-links "$v"); done

log "making $VENV (torch $TORCH, transformers $TRANSFORMERS) from ${indexes[*]:-} ${links[*]:-}"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP_CONFIG_FILE=/dev/null "$VENV/bin/pip" install --quiet --disable-pip-version-check --retries 0 --timeout 30 "${args[@]}" \
  "torch==$TORCH" "transformers==$TRANSFORMERS" safetensors numpy 2> >(grep -v "is neither a file nor a directory" >&2) || {
  echo "[conformance-setup] pip install failed (sources: ${args[*]})" >&2
  exit 1
}
check || { echo "[conformance-setup] $VENV was made but does not import torch $TORCH / transformers $TRANSFORMERS" >&2; exit 1; }
log "done: $("$VENV/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')"
