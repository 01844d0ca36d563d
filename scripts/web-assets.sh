#!/usr/bin/env bash
# Fetch bpmn-js from the npm registry and copy its prebuilt files into web/static/vendor/bpmn-js/.
# Optional: without them the designer and case pages fall back to the server-side SVG diagram.
# Usage: bash scripts/web-assets.sh        (needs node + npm; idempotent)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets="$root/web/assets"
vendor="$root/web/static/vendor/bpmn-js"
if ! command -v npm >/dev/null 2>&1; then
  echo "web-assets: npm not found; the pages will use the server-side SVG diagrams" >&2
  exit 0
fi
cd "$assets"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
dist="$assets/node_modules/bpmn-js/dist"
rm -rf "$vendor"
mkdir -p "$vendor"
cp "$dist/bpmn-viewer.production.min.js" "$dist/bpmn-modeler.production.min.js" "$vendor/"
cp -R "$dist/assets/." "$vendor/assets/"
cp "$assets/node_modules/bpmn-js/LICENSE" "$vendor/LICENSE" 2>/dev/null || true
echo "web-assets: bpmn-js $(node -p "require('$assets/node_modules/bpmn-js/package.json').version") -> ${vendor#$root/}"
