#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, in one run of at most ~8 minutes (HC_BUDGET_S, default 450 s):
#  - WebGPU on the NVIDIA Vulkan driver (the Vulkan loader may come from a carried Debian package),
#    WebGPU with float16 products (webgpu-f16), and CUDA when its provider binaries are installed;
#  - eval, calibrate and 12 training steps on the bench fixture (13.8M parameters), and eval and calibrate
#    on a Nemotron-H-4B-shaped checkpoint (4.49B parameters, BF16, dense random weights, default execution
#    path of the CLI);
#  - transformers' forward of the bench fixture on the same GPU, when python3 has torch with CUDA;
#  - the WebGPU tier's in-process tests (test/webgpu/forward.webgpu.ts), bundled in the kit;
#  - per run: tokens/s, peak RSS of the process tree, peak GPU memory, and the max difference from the
#    CPU provider (logits of eval; every importance tensor of calibrate; each step's training loss).
# Needs no Node.js installation and no network: everything comes from the variables below. Fixtures and
# data are generated on the spot with the CLI. Results go to $OUT (summary.md, summary.tsv, one log per
# step); the summary is printed at the end. Steps run in order of importance and are skipped, not
# started, once the time budget is spent.
#
#   HC_NODE          node binary (default: node on PATH)
#   HC_DIST          the built dist/ folder (cli.js, worker.js; default: <repo>/dist)
#   HC_NODE_MODULES  folder holding onnxruntime-node and onnxruntime-common (default: <repo>/node_modules);
#                    CUDA needs libonnxruntime_providers_{shared,cuda}.so in its bin/napi-v6/linux/x64/
#   HC_KIT           a kit from scripts/gpu-check-kit.sh: supplies HC_NODE, HC_DIST, HC_NODE_MODULES and the
#                    libvulkan1 .deb (used automatically from .cache/ when there is no node on PATH)
#   HC_VULKAN_LIB    folder holding libvulkan.so.1, or
#   HC_VULKAN_DEB    .deb files to unpack (dpkg -x, or ar + tar) when the system has no loader: libvulkan1, and
#                    for NVIDIA's driver glvnd's libglvnd0, libglx0, libgl1, libegl1, libopengl0, libgles2
#   HC_VULKAN_ICD    NVIDIA ICD manifest (default: the first of /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json,
#                    /usr/share/vulkan/icd.d/nvidia_icd.json, /etc/vulkan/icd.d/nvidia_icd.json)
#   OUT              results folder (default: ./gpu-check-out)
#   HC_WORK          scratch folder for fixtures (default: a new folder under /tmp; ~9 GB for the 4B checkpoint)
#   HC_BUDGET_S      time budget in seconds (default 450)
#   HC_SKIP_4B=1     only the bench fixture
#   HC_DEVICES       the devices checked beside the CPU (default "webgpu webgpu-f16 cuda")
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${HC_WORK:-$(mktemp -d /tmp/hc-gpu-check.XXXXXX)}"
mkdir -p "$WORK"
# A kit from scripts/gpu-check-kit.sh (node, dist/, onnxruntime-node, libvulkan1 .deb) supplies the defaults;
# used automatically from .cache/ when there is no node on PATH.
KIT_FILE="${HC_KIT:-}"
[ -z "$KIT_FILE" ] && ! command -v node >/dev/null && [ -f "$ROOT/.cache/gpu-check-kit.tar.xz" ] && KIT_FILE="$ROOT/.cache/gpu-check-kit.tar.xz"
if [ -n "$KIT_FILE" ]; then
  mkdir -p "$WORK/kit" && tar -xJf "$KIT_FILE" -C "$WORK/kit"
  HC_NODE="${HC_NODE:-$WORK/kit/bin/node}"
  HC_DIST="${HC_DIST:-$WORK/kit/dist}"
  HC_NODE_MODULES="${HC_NODE_MODULES:-$WORK/kit/node_modules}"
  if [ -z "${HC_VULKAN_LIB:-}" ] && ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
    HC_VULKAN_DEB="${HC_VULKAN_DEB:-$(ls "$WORK"/kit/debs/*.deb 2>/dev/null | tr '\n' ' ')}"
  fi
fi
NODE="${HC_NODE:-node}"
DIST="${HC_DIST:-$ROOT/dist}"
MODULES="${HC_NODE_MODULES:-$ROOT/node_modules}"
OUT="${OUT:-$PWD/gpu-check-out}"
START=$(date +%s)
DEADLINE=$((START + ${HC_BUDGET_S:-450}))
mkdir -p "$OUT"
SUMMARY="$OUT/summary.tsv"
printf 'step\trc\tseconds\tpeak_rss_mb\tpeak_gpu_mb\tep\ttokens_per_s\tmax_abs_diff_vs_cpu\tmax_rel_diff_vs_cpu\tnote\n' >"$SUMMARY"
log() { echo "[gpu-check $(($(date +%s) - START))s] $*" | tee -a "$OUT/gpu-check.log"; }

# ---- environment ---------------------------------------------------------------------------------
export NODE_PATH="$MODULES${NODE_PATH:+:$NODE_PATH}"
if [ -n "${HC_VULKAN_DEB:-}" ] && [ -z "${HC_VULKAN_LIB:-}" ]; then
  mkdir -p "$WORK/vulkan"
  for deb in $HC_VULKAN_DEB; do
    if command -v dpkg >/dev/null; then dpkg -x "$deb" "$WORK/vulkan"
    else (cd "$WORK/vulkan" && ar x "$deb" && for t in data.tar.*; do tar -xf "$t"; done && rm -f data.tar.* control.tar.* debian-binary); fi
  done
  lib="$(find "$WORK/vulkan" -name 'libvulkan.so.1' | head -1)"
  [ -n "$lib" ] && HC_VULKAN_LIB="$(dirname "$lib")"
fi
[ -n "${HC_VULKAN_LIB:-}" ] && export LD_LIBRARY_PATH="$HC_VULKAN_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
ICD="${HC_VULKAN_ICD:-}"
for c in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -z "$ICD" ] && [ -f "$c" ] && ICD="$c"
done
[ -n "$ICD" ] && export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"
# glvnd's EGL vendor file for NVIDIA (headless machines have no X server to pick a vendor from).
for c in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$c" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$c"
done

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
  echo "node: $NODE $("$NODE" --version 2>&1)"
  echo "dist: $DIST"
  echo "onnxruntime-node: $MODULES/onnxruntime-node $("$NODE" -p "require('$MODULES/onnxruntime-node/package.json').version" 2>&1)"
  echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
  loader="$(for d in ${LD_LIBRARY_PATH//:/ } /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do [ -e "$d/libvulkan.so.1" ] && echo "$d/libvulkan.so.1" && break; done)"
  echo "vulkan loader: ${loader:-$(ldconfig -p 2>/dev/null | grep -m1 libvulkan.so.1 || echo 'NOT FOUND (set HC_VULKAN_LIB or HC_VULKAN_DEB)')}"
  echo "vulkan ICD: ${ICD:-NOT FOUND (set HC_VULKAN_ICD)} $( [ -n "$ICD" ] && tr -d '\n ' <"$ICD")"
  echo "python3 onnxruntime: $(python3 -c 'import onnxruntime as o; print(o.__version__, o.get_available_providers())' 2>&1 | tail -1)"
  echo "cuda provider: $(ls "$MODULES"/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so 2>/dev/null || echo 'not installed')"
} | tee "$OUT/environment.txt"
[ -f "$DIST/cli.js" ] || { log "no $DIST/cli.js (set HC_DIST)"; exit 1; }
CLI=("$NODE" "$DIST/cli.js")
HAS_GPU_SMI=0
command -v nvidia-smi >/dev/null && HAS_GPU_SMI=1

# ---- helpers ---------------------------------------------------------------------------------------
# Compares two .safetensors files tensor by tensor (f32 / bf16 / f16): prints "maxAbs maxRel" (rel = max |Δ| / max |a| per tensor).
cat >"$WORK/compare.js" <<'EOF'
const fs = require('fs');
function read(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  const out = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [s, e] = t.data_offsets;
    const raw = buf.subarray(8 + n + s, 8 + n + e);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (t.dtype === 'F32') v[i] = raw.readFloatLE(4 * i);
      else if (t.dtype === 'BF16') { const b = Buffer.alloc(4); b.writeUInt16LE(raw.readUInt16LE(2 * i), 2); v[i] = b.readFloatLE(0); }
      else throw new Error(`${file}: ${name} has dtype ${t.dtype}`);
    }
    out.set(name, v);
  }
  return out;
}
const a = read(process.argv[2]), b = read(process.argv[3]);
let maxAbs = 0, maxRel = 0;
for (const [name, x] of a) {
  const y = b.get(name);
  if (!y || y.length !== x.length) { console.log(`NaN NaN missing:${name}`); process.exit(0); }
  let d = 0, s = 0;
  for (let i = 0; i < x.length; i++) { d = Math.max(d, Math.abs(x[i] - y[i])); s = Math.max(s, Math.abs(x[i])); }
  maxAbs = Math.max(maxAbs, d);
  maxRel = Math.max(maxRel, d / (s || 1));
}
console.log(`${maxAbs.toExponential(3)} ${maxRel.toExponential(3)}`);
EOF
# Random token ids as .jsonl ("input_ids" rows), so no tokenizer is needed.
ids() { "$NODE" -e "let s=$3;const r=()=>(s=(Math.imul(s,1103515245)+12345)>>>0)%$2;for(let i=0;i<$1;i++)console.log(JSON.stringify({input_ids:Array.from({length:$4},r)}))" >"$5"; }
# Sums RSS (MiB) of every process in process group $1.
group_rss() {
  local total=0 p pg rss
  for p in /proc/[0-9]*; do
    pg=$(awk '{sub(/^.*\) /, ""); print $3}' "$p/stat" 2>/dev/null) || continue
    [ "$pg" = "$1" ] || continue
    rss=$(awk '{print $2}' "$p/statm" 2>/dev/null) || continue
    total=$((total + rss))
  done
  echo $((total * $(getconf PAGESIZE) / 1048576))
}
gpu_mb() { [ $HAS_GPU_SMI = 1 ] && nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>/dev/null | head -1 || echo 0; }
json_field() { "$NODE" -e "const l=require('fs').readFileSync('$1','utf8').split('\n').filter(x=>x.includes('\"event\":\"result\"')).pop();if(!l)process.exit(0);const r=JSON.parse(l).result;const v=$2;console.log(v===undefined?'':v)" 2>/dev/null; }

# step NAME TIMEOUT_S CMD... — runs CMD (a CLI command) within the budget, sampling memory, and logs it.
LAST_RC=0
STEP_ROW=""
STEP_NOTE=""
step() {
  local name="$1" limit="$2"; shift 2
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -lt 20 ]; then
    log "$name: skipped (time budget spent)"
    LAST_RC=124; STEP_ROW="$name\tskipped\t\t\t\t\t"; STEP_NOTE="out of time budget"; return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log "$name: $* (limit ${limit}s)"
  local t0 base peak=0 gpeak=0 g r
  t0=$(date +%s%N)
  base=$(gpu_mb)
  setsid timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    r=$(group_rss "$pid"); [ "$r" -gt "$peak" ] && peak=$r
    g=$(gpu_mb); [ -n "$g" ] && [ "$((g - base))" -gt "$gpeak" ] && gpeak=$((g - base))
    sleep 0.5
  done
  wait "$pid"; LAST_RC=$?
  local secs=$((($(date +%s%N) - t0) / 1000000000))
  local ep tps; ep=$(json_field "$OUT/$name.out" "r.ep"); tps=$(json_field "$OUT/$name.out" "r.tokensPerS&&r.tokensPerS.toFixed(0)")
  STEP_NOTE=""
  [ "$LAST_RC" != 0 ] && STEP_NOTE="$(grep -v '^\s*$' "$OUT/$name.err" | tail -1 | cut -c1-300)"
  STEP_ROW="$name\t$LAST_RC\t$secs\t$peak\t$gpeak\t$ep\t$tps"
  log "$name: rc=$LAST_RC ${secs}s, peak RSS ${peak} MiB, GPU +${gpeak} MiB, ep=${ep:-?}, ${tps:-?} tokens/s${STEP_NOTE:+ — $STEP_NOTE}"
}
# Records the last step's row, with its difference from a CPU output ($1 = CPU file, $2 = this step's) if given:
# every tensor of two .safetensors files, or each step's loss of two metrics.jsonl files.
record() {
  local diff=""
  local cmp="$WORK/compare.js"
  [[ "${1:-}" == *.jsonl ]] && cmp="$WORK/losses.js" # metrics.jsonl: each step's loss
  [ $# -eq 2 ] && [ -f "$1" ] && [ -f "$2" ] && [ "$LAST_RC" = 0 ] && diff=$("$NODE" "$cmp" "$1" "$2")
  printf "$STEP_ROW\t%s\t%s\t%s\n" "${diff%% *}" "${diff:+${diff##* }}" "${STEP_NOTE//$'\t'/ }" >>"$SUMMARY"
  [ -n "$diff" ] && log "  max |Δ| vs CPU: ${diff%% *} (relative ${diff##* })"
  return 0
}

"${CLI[@]}" fixture "$WORK/bench" --preset bench --force >/dev/null 2>>"$OUT/gpu-check.log" || log "fixture bench failed"
ids 32 4096 7 512 "$WORK/bench.jsonl"

# ---- probes: the adapter the CLI reports (with the Vulkan loader's own account), and what auto picks ----
step probe-webgpu 90 env VK_LOADER_DEBUG=error,warn,driver "${CLI[@]}" eval "$WORK/bench" --data "$WORK/bench.jsonl" --samples 1 --seq-len 16 --batch 1 --device webgpu --json
record
{
  grep -ho 'webgpu adapter: [^"]*' "$OUT/probe-webgpu.out" "$OUT/probe-webgpu.err" | head -1
  # The loader names the physical device it hands to Dawn (ORT does not expose the adapter to Node).
  grep -ho 'Using \\\?"[^"\\]*\\\?" with driver: \\\?"[^"\\]*' "$OUT/probe-webgpu.out" "$OUT/probe-webgpu.err" | sort -u | sed 's/^/vulkan device: /; s/\\//g'
} | tee -a "$OUT/environment.txt"
step probe-auto 90 "${CLI[@]}" eval "$WORK/bench" --data "$WORK/bench.jsonl" --samples 1 --seq-len 16 --batch 1 --device auto --json
record

# ---- bench fixture: eval and calibrate on every device, CPU first (the reference) ---------------------
# cuda always runs: without its provider binaries it must fail at once with a message naming what is missing.
# eval takes one row per line (--packing none) and transformers' dt rule, so its logits line up with transformers' below;
# 8 batches, as tokens/s leaves out the first (session warm-up, shader compilation).
read -r -a DEVICES <<<"${HC_DEVICES-webgpu webgpu-f16 cuda}"
BIG_DEVICES=() # the 4B-shaped checkpoint: float32 devices only
for d in "${DEVICES[@]}"; do [ "$d" != webgpu-f16 ] && BIG_DEVICES+=("$d"); done
for d in cpu "${DEVICES[@]}"; do
  step "bench-eval-$d" 120 "${CLI[@]}" eval "$WORK/bench" --data "$WORK/bench.jsonl" --packing none --dt-clamp transformers5 --samples 32 --seq-len 512 --batch 4 --device "$d" --dump-logits "$WORK/bench-logits-$d.safetensors" --json
  record "$WORK/bench-logits-cpu.safetensors" "$WORK/bench-logits-$d.safetensors"
done
# transformers on the same GPU, checkpoint and rows, when this machine's python3 has torch with CUDA: a
# reference for the figures above (float32, TF32 off as torch defaults; best of 5 passes over the 32 rows).
cat >"$WORK/transformers_cuda.py" <<'EOF'
import json, sys, time
import numpy as np, torch
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM
model_dir, ids_file, batch, cpu_logits = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids = torch.tensor([json.loads(l)["input_ids"] for l in open(ids_file)], dtype=torch.long, device="cuda")
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to("cuda").eval()
def run():
    with torch.no_grad():
        return [model(input_ids=ids[i:i + batch], use_cache=False).logits for i in range(0, ids.shape[0], batch)]
logits = torch.cat(run()).float().cpu().numpy()
best = float("inf")
for _ in range(5):
    torch.cuda.synchronize(); t = time.perf_counter(); run(); torch.cuda.synchronize()
    best = min(best, time.perf_counter() - t)
ours = next(iter(load_file(cpu_logits).values()))
diff = float(np.abs(ours - logits).max()) if ours.shape == logits.shape else float("nan")
print(json.dumps({"event": "result", "result": {"ep": "transformers-cuda", "tokensPerS": ids.numel() / best,
    "maxAbsDiffVsOurCpu": diff, "torch": torch.__version__, "transformers": __import__("transformers").__version__}}, separators=(",", ":")))
EOF
if python3 -c 'import torch, transformers, safetensors; assert torch.cuda.is_available()' 2>/dev/null; then
  step bench-transformers-cuda 150 env PYTHONUNBUFFERED=1 python3 "$WORK/transformers_cuda.py" "$WORK/bench" "$WORK/bench.jsonl" 4 "$WORK/bench-logits-cpu.safetensors"
  record
  log "  transformers on CUDA: $(grep -h '"event":"result"' "$OUT/bench-transformers-cuda.out" | tail -1)"
else
  log "bench-transformers-cuda: skipped (python3 has no torch with CUDA, or no transformers/safetensors)"
fi
for d in cpu "${DEVICES[@]}"; do
  step "bench-calibrate-$d" 150 "${CLI[@]}" calibrate "$WORK/bench" --data "$WORK/bench.jsonl" --samples 8 --seq-len 512 --batch 4 --depth kl --depth-samples 4 --device "$d" --out "$WORK/cal-$d" --force --json
  record "$WORK/cal-cpu/importance.safetensors" "$WORK/cal-$d/importance.safetensors"
done

# ---- training on the bench fixture: 12 AdamW steps of the default step, each step's loss against the CPU's ----
cat >"$WORK/losses.js" <<'EOF'
const fs = require('fs');
const read = (f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => typeof r.loss === 'number');
const a = read(process.argv[2]), b = read(process.argv[3]);
if (a.length === 0 || a.length !== b.length) { console.log(`NaN NaN steps:${a.length}/${b.length}`); process.exit(0); }
let maxAbs = 0, maxRel = 0;
for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i].loss - b[i].loss); maxAbs = Math.max(maxAbs, d); maxRel = Math.max(maxRel, d / Math.abs(a[i].loss)); }
console.log(`${maxAbs.toExponential(3)} ${maxRel.toExponential(3)}`);
EOF
# The median step leaves out the first (sessions, shaders) and the last (the checkpoint save).
cat >"$WORK/step-seconds.js" <<'EOF'
const r = require('fs').readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => typeof x.elapsed_s === 'number');
const d = r.map((x, i) => x.elapsed_s - (i ? r[i - 1].elapsed_s : 0)).slice(1, -1).sort((a, b) => a - b);
console.log(d.length ? d[d.length >> 1].toFixed(3) : '?');
EOF
for d in cpu "${DEVICES[@]}"; do
  step "bench-train-$d" 150 "${CLI[@]}" train --model "$WORK/bench" --data "$WORK/bench.jsonl" --packing none --no-shuffle --samples 8 --seq-len 256 --batch 4 --steps 12 --save-every 12 --device "$d" --out "$WORK/train-$d" --json
  [ "$LAST_RC" = 0 ] && STEP_NOTE="median step $("$NODE" "$WORK/step-seconds.js" "$WORK/train-$d/metrics.jsonl") s (steps 2-11)"
  record "$WORK/train-cpu/metrics.jsonl" "$WORK/train-$d/metrics.jsonl"
done

# ---- the WebGPU tier's in-process tests, bundled in the kit: forward and every tap, BF16, a training step's
# gradients, no compute op on the CPU, GroupQueryAttention's WebGPU kernel, float16 products ----------------
TIER="$(dirname "$DIST")/test/webgpu/forward.webgpu.js"
if [[ " ${DEVICES[*]} " != *" webgpu "* ]]; then
  log "webgpu-tier: skipped (webgpu is not in HC_DEVICES)"
elif [ ! -f "$TIER" ]; then
  log "webgpu-tier: skipped (no $TIER: a kit from scripts/gpu-check-kit.sh carries it; elsewhere run npm run test:webgpu)"
else
  step webgpu-tier 240 "$NODE" --test "$TIER"
  STEP_NOTE="$(grep -E '^# (pass|fail) ' "$OUT/webgpu-tier.out" | tr '\n' ' ')$(grep -E '^not ok' "$OUT/webgpu-tier.out" | head -3 | tr '\n' ' ')"
  record
  grep -E '^# ' "$OUT/webgpu-tier.out" | grep -vE '^# (Subtest:|tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)' | cut -c1-240 | while read -r l; do log "  $l"; done
fi

# ---- Nemotron-H-4B-shaped checkpoint (BF16, dense random weights; the CLI's default execution path) -----
if [ "${HC_SKIP_4B:-0}" != 1 ]; then
  step fixture-4b 200 "${CLI[@]}" fixture "$WORK/h4b" --preset 4b --force
  record
  ids 2 131072 11 256 "$WORK/h4b.jsonl"
  if [ "$LAST_RC" = 0 ]; then
    # GPU first (the point of the check), CPU last as the reference; differences are computed after it.
    for d in "${BIG_DEVICES[@]}" cpu; do
      step "4b-eval-$d" 240 "${CLI[@]}" eval "$WORK/h4b" --data "$WORK/h4b.jsonl" --samples 1 --seq-len 256 --batch 1 --device "$d" --dump-logits "$WORK/h4b-logits-$d.safetensors" --json
      record
    done
    for d in "${BIG_DEVICES[@]}"; do
      if [ -f "$WORK/h4b-logits-$d.safetensors" ] && [ -f "$WORK/h4b-logits-cpu.safetensors" ]; then
        diff=$("$NODE" "$WORK/compare.js" "$WORK/h4b-logits-cpu.safetensors" "$WORK/h4b-logits-$d.safetensors")
        log "4b-eval-$d max |Δ| vs CPU: ${diff%% *} (relative ${diff##* })"
        printf '4b-eval-%s-vs-cpu\t0\t\t\t\t\t\t%s\t%s\t\n' "$d" "${diff%% *}" "${diff##* }" >>"$SUMMARY"
      fi
    done
    if [[ " ${BIG_DEVICES[*]} " == *" webgpu "* ]]; then
      step 4b-calibrate-webgpu 240 "${CLI[@]}" calibrate "$WORK/h4b" --data "$WORK/h4b.jsonl" --samples 2 --seq-len 256 --batch 1 --depth bi --device webgpu --out "$WORK/h4b-cal-webgpu" --force --json
      record
    fi
    step 4b-calibrate-cpu 240 "${CLI[@]}" calibrate "$WORK/h4b" --data "$WORK/h4b.jsonl" --samples 2 --seq-len 256 --batch 1 --depth bi --device cpu --out "$WORK/h4b-cal-cpu" --force --json
    record "$WORK/h4b-cal-cpu/importance.safetensors" "$WORK/h4b-cal-webgpu/importance.safetensors"
  fi
fi

# ---- summary -----------------------------------------------------------------------------------------
{
  echo "# GPU check ($(date -u +%FT%TZ), $(($(date +%s) - START)) s)"
  echo
  sed 's/^/    /' "$OUT/environment.txt"
  echo
  echo "| step | rc | s | peak RSS MiB | GPU MiB | ep | tokens/s | max abs Δ vs CPU | max rel Δ vs CPU | note |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$SUMMARY" | awk -F'\t' '{printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print ""}'
  echo
  echo "WebGPU probe, Vulkan loader errors (VK_LOADER_DEBUG=error,warn,driver; full log in probe-webgpu.out/.err):"
  grep -hE 'ERROR|WARNING' "$OUT/probe-webgpu.out" "$OUT/probe-webgpu.err" | cut -c1-300 | sort -u | tail -20 | sed 's/^/    /'
} >"$OUT/summary.md"
cat "$OUT/summary.md"
