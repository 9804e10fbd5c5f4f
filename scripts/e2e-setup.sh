#!/usr/bin/env bash
# Installs what the extension's end-to-end tier (scripts/e2e.mjs) needs on a fresh Debian machine:
# Debian's chromium (driven headless by playwright-core), code-server 4.100.3 (VS Code 1.100 in the
# browser; the last line whose npm package runs on Node 20) and playwright-core. Idempotent: a second
# run only checks versions and returns in about a second.
#
# code-server and playwright-core go into their own folder ($HC_E2E_HOME, default
# ~/.cache/hybrid-compress-e2e), not the project's node_modules: code-server is ~280 MB with native
# builds, and the extension's own dependency tree must not depend on it.
#
# code-server's install reaches the network beyond npm in three places; each is handled here so the
# install works where only the npm registry and Debian are reachable:
#  - argon2's prebuilt download fails → it builds from source (needs build-essential, python3);
#  - @vscode/ripgrep's postinstall downloads rg from GitHub → we seed its download cache with
#    Debian's rg, packed the way the postinstall expects;
#  - node-pty's postinstall runs `npx node-gyp` → npm_config_yes=true lets npx proceed unattended.
# As root, npm scripts need npm_config_unsafe_perm=true.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.55.0
E2E_HOME="${HC_E2E_HOME:-$HOME/.cache/hybrid-compress-e2e}"
STAMP="$E2E_HOME/.installed-code-server-$CODE_SERVER_VERSION-playwright-$PLAYWRIGHT_VERSION"

log() { echo "[e2e-setup] $*"; }

# --- Debian packages -------------------------------------------------------------------------
need=()
for p in chromium libkrb5-dev ripgrep build-essential pkg-config python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v chromium >/dev/null || { echo "[e2e-setup] chromium is not on PATH after install" >&2; exit 1; }

# --- code-server + playwright-core --------------------------------------------------------------
if [ -f "$STAMP" ] && [ -f "$E2E_HOME/node_modules/code-server/out/node/entry.js" ] && [ -f "$E2E_HOME/node_modules/playwright-core/package.json" ]; then
  log "code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION already installed in $E2E_HOME"
  exit 0
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != "20" ]; then
  echo "[e2e-setup] code-server $CODE_SERVER_VERSION needs Node 20 (found $(node --version)); newer code-server lines need Node 22/24" >&2
  exit 1
fi

mkdir -p "$E2E_HOME"
cat >"$E2E_HOME/package.json" <<EOF
{ "name": "hybrid-compress-e2e-tools", "private": true, "version": "0.0.0" }
EOF

# Seed @vscode/ripgrep's download cache (code-server's VS Code pins @vscode/ripgrep 1.15.11 → rg v13.0.0-10).
tmp="${TMPDIR:-/tmp}"
for rgpkg in 1.15.11 1.15.10 1.15.9; do
  cache="$tmp/vscode-ripgrep-cache-$rgpkg"
  asset="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -f "$asset" ]; then
    mkdir -p "$cache"
    work="$(mktemp -d)"
    cp "$(command -v rg)" "$work/rg"
    tar -czf "$asset" -C "$work" rg
    rm -rf "$work"
  fi
done

log "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION into $E2E_HOME (a few minutes the first time)"
(
  cd "$E2E_HOME"
  export npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
  npm install --no-save --no-package-lock "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >"$E2E_HOME/install.log" 2>&1
) || {
  echo "[e2e-setup] npm install failed; last lines of $E2E_HOME/install.log:" >&2
  tail -30 "$E2E_HOME/install.log" >&2
  exit 1
}
[ -f "$E2E_HOME/node_modules/code-server/out/node/entry.js" ] || { echo "[e2e-setup] code-server did not install (see $E2E_HOME/install.log)" >&2; exit 1; }
touch "$STAMP"
log "done: $("$E2E_HOME/node_modules/.bin/code-server" --version 2>/dev/null | tail -1)"
