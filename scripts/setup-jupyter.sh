#!/usr/bin/env bash
# Install Jupyter from Debian packages (headless nbconvert for scripts/run-notebooks.sh and the
# interactive Notebook server for `jupyter notebook notebooks/`) and register the tslab (TypeScript) kernel.
# Needs root (or sudo) for apt-get. Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v jupyter-nbconvert >/dev/null 2>&1 || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient' >/dev/null 2>&1 || need+=(python3-nbclient)
/usr/bin/python3 -c 'import ipykernel' >/dev/null 2>&1 || need+=(python3-ipykernel)
/usr/bin/python3 -c 'import jupyter_client' >/dev/null 2>&1 || need+=(jupyter-client)
command -v jupyter-notebook >/dev/null 2>&1 || need+=(jupyter-notebook)
/usr/bin/python3 -c 'import notebook' >/dev/null 2>&1 || need+=(python3-notebook)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-jupyter: installing ${need[*]} from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi
[ -x node_modules/.bin/tslab ] || { echo "setup-jupyter: run 'npm ci' first (tslab comes from npm)" >&2; exit 1; }
# Register the kernel for the Debian python (the kernel spec runs `tslab` from PATH).
PATH="$PWD/node_modules/.bin:$PATH" npx tslab install --python=/usr/bin/python3 >/dev/null
/usr/bin/python3 -m jupyter kernelspec list 2>/dev/null | grep -q tslab || { echo "setup-jupyter: tslab kernel not registered" >&2; exit 1; }
command -v jupyter-notebook >/dev/null 2>&1 || { echo "setup-jupyter: jupyter-notebook (interactive) not installed" >&2; exit 1; }
echo "setup-jupyter: ok ($(/usr/bin/python3 -m jupyter nbconvert --version 2>/dev/null | head -1) nbconvert, notebook $(/usr/bin/python3 -c 'import notebook; print(notebook.__version__)'), tslab kernel registered)"
