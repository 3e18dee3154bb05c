#!/usr/bin/env bash
# Build (once) a Debian root with the real GIMP 3 and Krita 5 that the
# real-editor tests run in. Roots are cached outside the checkout and rebuilt
# only when missing or incomplete. Needs root (mmdebstrap --mode=root).
#   tests/editors/build-root.sh [DIST [ROOT]]
#     DIST  trixie (GIMP 3.0.4, Krita 5.2.9; the default) or forky (GIMP 3.2.6, Krita 5.3.4)
#     ROOT  default: /var/cache/textclean/DIST-editors
set -euo pipefail
DIST=${1:-trixie}
ROOT=${2:-/var/cache/textclean/$DIST-editors}
STAMP="$ROOT/.textclean-root-v2"
[ -f "$STAMP" ] && exit 0
mkdir -p "$(dirname "$ROOT")"
# Two test runs may ask at once: one builds, the other waits for it.
exec 9>"$ROOT.lock"
flock 9
[ -f "$STAMP" ] && exit 0
if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
OPTS=()
case "$DIST" in
  trixie) ;;
  # forky is served from a frozen snapshot whose Release files are past their
  # "valid until" date; without this apt refuses them at once.
  forky) OPTS+=(--aptopt='Acquire::Check-Valid-Until "false"') ;;
  *) echo "build-root.sh: unknown distribution $DIST (trixie or forky)" >&2; exit 2 ;;
esac
rm -rf "$ROOT"
mmdebstrap --mode=root --variant=apt --quiet "${OPTS[@]}" \
  --include=gimp,python3-gi,gir1.2-gimp-3.0,krita,python3-pyqt5,python3-zmq,python3-msgpack,python3-numpy,xvfb,xauth,imagemagick,xdotool \
  "$DIST" "$ROOT"
touch "$STAMP"
