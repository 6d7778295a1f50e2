#!/usr/bin/env bash
# Build the container's base image from Debian's own packages (no image registry needed) and load it into
# the local Docker engine:  deploy/base-image.sh [--unless-current] [TAG]   (default shifan-base:bookworm)
# The image is labelled with this file's SHA-256: with --unless-current (make image) an image of TAG built by
# this same recipe is kept, one built by an older recipe is built again, and one this script did not make
# (no label: e.g. BASE_IMAGE from an office's own registry) is used as it is.
#
# mmdebstrap writes a bookworm root file system with only Debian's essential set plus what Shifan runs on:
# Python 3.11 with venv (the offline bundle's install.sh makes its virtualenv with it), CA certificates
# (TLS to an S3 server or PostgreSQL over the network), tini (PID 1: reaps children, passes signals on) and one
# Chinese font. The server draws text in one place only: PDF previews (PDFium). A PDF that names a Chinese font
# without embedding it (宋体 from some office tools) is drawn with a font of the system, and with none its text
# comes out blank; WenQuanYi Micro Hei (5 MB) draws it, where Noto CJK would add ~90 MB for thumbnails.
# No apt in the image: nothing is installed into it later, the bundle brings the rest.
#
# Needs root (mmdebstrap's root mode) and a reachable Debian mirror (MIRROR, default deb.debian.org);
# mmdebstrap itself is installed from Debian's packages when it is missing.
set -euo pipefail
started=$SECONDS

unless_current=0
if [ "${1:-}" = --unless-current ]; then
  unless_current=1
  shift
fi
tag="${1:-shifan-base:bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
security="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
docker="${DOCKER:-docker}"
# tesseract-ocr and its chi_sim model: the worker reads scans and photos (OCR, README "Scans and photos")
packages="python3.11,python3.11-venv,ca-certificates,tini,fonts-wqy-microhei,tesseract-ocr,tesseract-ocr-chi-sim"
recipe="$(sha256sum "$0" | cut -d' ' -f1)"

if [ "$unless_current" = 1 ] && "$docker" image inspect "$tag" >/dev/null 2>&1; then
  label="$("$docker" image inspect --format '{{index .Config.Labels "org.shifan.base-recipe"}}' "$tag")"
  if [ "$label" = "$recipe" ]; then
    exit 0
  elif [ -z "$label" ] || [ "$label" = "<no value>" ]; then
    echo "base image $tag was not built by deploy/base-image.sh: used as it is"
    exit 0
  fi
  echo "base image $tag was built by an older deploy/base-image.sh: building it again"
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "installing mmdebstrap from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
echo "building the base image $tag from Debian's packages ($mirror; about two minutes)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Documentation, manual pages and translations are never read inside a container (copyright files are kept:
# the licences travel with the binaries); apt's lists and caches are dropped once the packages are in.
# The merged-/usr hook makes the /bin → /usr/bin links itself; without it apt satisfies init-system-helpers
# with the usrmerge package, which drags in Perl (46 MB) to convert a tree that is already new.
mmdebstrap --variant=essential --include="$packages" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/etc/machine-id' \
  bookworm "$work/rootfs.tar" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"

# docker import keeps only the file system: the environment a Python service expects is set here.
"$docker" import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  --change "LABEL org.shifan.base-recipe=$recipe" \
  --message "Debian bookworm (mmdebstrap, essential + $packages)" \
  "$work/rootfs.tar" "$tag" >/dev/null
size="$("$docker" image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
echo "base image $tag: $size, built in $((SECONDS - started)) s"
