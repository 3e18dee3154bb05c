#!/usr/bin/env bash
# Build (once) the Debian trixie root with GIMP 3 and Krita 5.2 that the
# real-editor tests run in. It is cached outside the checkout and rebuilt
# only when missing or incomplete. Needs root (mmdebstrap --mode=root).
#   tests/editors/build-root.sh [ROOT]     default: $TEXTCLEAN_EDITOR_ROOT or /var/cache/textclean/trixie-editors
set -euo pipefail
ROOT=${1:-${TEXTCLEAN_EDITOR_ROOT:-/var/cache/textclean/trixie-editors}}
STAMP="$ROOT/.textclean-root-v2"
if [ -f "$STAMP" ]; then
  exit 0
fi
if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
mmdebstrap --mode=root --variant=apt --quiet \
  --include=gimp,python3-gi,gir1.2-gimp-3.0,krita,python3-pyqt5,python3-zmq,python3-msgpack,python3-numpy,xvfb,xauth,imagemagick,xdotool \
  trixie "$ROOT"
touch "$STAMP"
