#!/usr/bin/env bash
# Installs the pinned openai client (package-lock.json) once; does nothing when it is already installed.
set -euo pipefail
cd "$(dirname "$0")"
want=$(node -p 'require("./package-lock.json").packages["node_modules/openai"].version')
have=$(node -p 'try { require("./node_modules/openai/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
