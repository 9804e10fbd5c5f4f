#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node.js and no network into one
# file, .cache/gpu-check-kit.tar.xz (about 36 MB): this machine's node binary, the built dist/, the
# linux-x64 part of onnxruntime-node (+ onnxruntime-common), the WebGPU tier's in-process tests (bundled),
# and Debian's libvulkan1 package (the Vulkan loader) with glvnd's libraries (fetched with apt-get download). There: HC_KIT=<the file> bash scripts/gpu-check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
KIT="$(mktemp -d)"
trap 'rm -rf "$KIT"' EXIT
npm run build >/dev/null
mkdir -p "$KIT/bin" "$KIT/dist" "$KIT/debs" "$KIT/node_modules/onnxruntime-node/bin/napi-v6/linux" .cache
cp "$(command -v node)" "$KIT/bin/node"
cp dist/cli.js dist/worker.js "$KIT/dist/"
ort=node_modules/onnxruntime-node
cp -r "$ort/package.json" "$ort/dist" "$KIT/$ort/"
cp -r "$ort/bin/napi-v6/linux/x64" "$KIT/$ort/bin/napi-v6/linux/"
cp -r node_modules/onnxruntime-common "$KIT/node_modules/"
# The WebGPU tier's in-process tests, bundled to plain JavaScript (that machine has no tsx); gpu-check.sh
# runs them. The CLI tests stay out: they run the CLI from an environment with no library path, by design.
npx esbuild test/webgpu/forward.webgpu.ts --bundle --platform=node --format=cjs --external:onnxruntime-node --log-level=warning --outfile="$KIT/test/webgpu/forward.webgpu.js"
# NVIDIA's Vulkan driver lives in libGLX_nvidia.so.0, which needs glvnd's dispatch libraries: without them
# the loader finds the driver but gets no vkCreateInstance from it (seen on an H200 machine).
(cd "$KIT/debs" && apt-get download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2 >/dev/null)
tar -C "$KIT" -cf - . | xz -T0 -6 >.cache/gpu-check-kit.tar.xz
echo "wrote .cache/gpu-check-kit.tar.xz ($(du -h .cache/gpu-check-kit.tar.xz | cut -f1)): node $(node --version), onnxruntime-node $(node -p "require('./$ort/package.json').version"), $(ls "$KIT/debs")"
