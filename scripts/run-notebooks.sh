#!/usr/bin/env bash
# Execute every notebook in notebooks/ headless, in order, into reports/notebooks/
# (executed .ipynb + HTML export). Exits non-zero when a cell raises or prints a
# one-line `error:` (a FlowlabError caught by notebooks/lib.ts `cell`).
#
#   bash scripts/run-notebooks.sh                 # all notebooks
#   bash scripts/run-notebooks.sh 01_quickstart   # the named ones (with or without .ipynb)
#   NOTEBOOK_OUT=tmp/nb bash scripts/run-notebooks.sh
#
# Needs Jupyter and the tslab kernel: bash scripts/setup-jupyter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
OUT="${NOTEBOOK_OUT:-reports/notebooks}"
mkdir -p "$OUT"
command -v jupyter >/dev/null 2>&1 || { echo "run-notebooks: jupyter not found (run: bash scripts/setup-jupyter.sh)" >&2; exit 2; }
command -v tslab >/dev/null 2>&1 || { echo "run-notebooks: tslab not found in node_modules/.bin (run: npm ci)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  books=()
  for n in "$@"; do books+=("notebooks/${n%.ipynb}.ipynb"); done
else
  books=(notebooks/[0-9][0-9]_*.ipynb)
fi

status=0
for nb in "${books[@]}"; do
  [ -f "$nb" ] || { echo "run-notebooks: no such notebook: $nb" >&2; exit 2; }
  name="$(basename "$nb" .ipynb)"
  start=$(date +%s)
  if ! jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=tslab \
      --ExecutePreprocessor.timeout=600 --output-dir "$OUT" --output "$name" "$nb" >"$OUT/$name.log" 2>&1; then
    echo "FAIL $name: a cell raised (see $OUT/$name.log)" >&2
    grep -v -i 'debugger\|frozen_modules\|PYDEVD\|npm warn' "$OUT/$name.log" | tail -20 >&2 || true
    status=1
    continue
  fi
  # a FlowlabError caught by lib.ts `cell` prints `error: ...` and the cell itself succeeds
  if ! /usr/bin/python3 - "$OUT/$name.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
bad = []
for c in nb["cells"]:
    for o in c.get("outputs", []):
        if o.get("output_type") == "error":
            bad.append(f"{o.get('ename')}: {o.get('evalue')}")
        text = "".join(o.get("text", "")) if o.get("output_type") == "stream" else ""
        bad += [l for l in text.splitlines() if l.startswith("error: ")]
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
  then
    echo "FAIL $name: the notebook reported an error (above)" >&2
    status=1
    continue
  fi
  jupyter nbconvert --to html --output-dir "$OUT" --output "$name" "$OUT/$name.ipynb" >>"$OUT/$name.log" 2>&1
  echo "ok   $name ($(( $(date +%s) - start )) s) -> $OUT/$name.ipynb, $OUT/$name.html"
done
exit $status
