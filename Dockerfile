# Shifan's image, built with no network and no image registry:
#   make image            (base image if missing, the offline bundle, then this file; README "Building and running
#                         the image")
# or by hand:
#   deploy/base-image.sh                    # shifan-base:bookworm from Debian's packages (mmdebstrap)
#   make bundle                             # dist/shifan-offline-<version>.tar.gz
#   docker build --network none -t shifan .   # BUNDLE=dist/shifan-offline-<version>.tar.gz if dist/ has several
# BASE_IMAGE may name any Debian 12 image with python3.11, python3.11-venv and tini (e.g. one kept in an office's
# own registry).
ARG BASE_IMAGE=shifan-base:bookworm

# Stage 1: the bundle's own installer makes the virtualenv (--no-index: wheels from the bundle only); pip is
# removed afterwards (nothing installs into a running container). BUNDLE defaults to the one bundle in dist/.
FROM ${BASE_IMAGE} AS install
# make image removes this stage's image of an earlier build by this label (with the bundle in it: ~400 MB)
LABEL org.shifan.stage=install
ARG BUNDLE=dist/shifan-offline-*.tar.gz
# ADD unpacks a local .tar.gz; .dockerignore lets nothing but dist/shifan-offline-*.tar.gz into the context
ADD ${BUNDLE} /tmp/bundle/
RUN set -eu; \
    if [ "$(ls -d /tmp/bundle/shifan-offline-*/ | wc -l)" != 1 ]; then \
      echo "dist/ holds several bundles: build with --build-arg BUNDLE=dist/shifan-offline-<version>.tar.gz" >&2; \
      exit 1; \
    fi; \
    sh /tmp/bundle/shifan-offline-*/install.sh /opt/shifan; \
    /opt/shifan/bin/python -m pip uninstall --yes --quiet pip; \
    /opt/shifan/bin/shifan --help >/dev/null

# Stage 2: the base plus the virtualenv; the bundle itself stays behind in stage 1.
FROM ${BASE_IMAGE}
# The user exists without the passwd package (the base has no useradd): uid/gid 10001, home /srv/shifan.
RUN echo 'shifan:x:10001:10001:Shifan:/srv/shifan:/usr/sbin/nologin' >>/etc/passwd \
    && echo 'shifan:x:10001:' >>/etc/group \
    && mkdir -p /srv/shifan/var && chown -R 10001:10001 /srv/shifan
COPY --from=install /opt/shifan /opt/shifan
WORKDIR /srv/shifan
# var/ keeps what is made once (deployment id; the JWT secret when SHIFAN_JWT_SECRET is not set) and, without
# SHIFAN_DATABASE_URL / S3, the SQLite file and evidence folder: mount a volume here.
ENV PATH=/opt/shifan/bin:$PATH PYTHONUNBUFFERED=1 SHIFAN_VAR_DIR=/srv/shifan/var
VOLUME /srv/shifan/var
USER shifan
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2).status != 200)"]
# tini is PID 1: it passes docker stop's SIGTERM on and reaps what the worker's file jobs leave behind.
ENTRYPOINT ["/usr/bin/tini", "--"]
# Migrations run on start (idempotent), then the API with the worker as its supervised child. HOST and PORT
# choose where it listens (with `--network host`, e.g. HOST=127.0.0.1 PORT=8010). Set SHIFAN_DATABASE_URL,
# SHIFAN_JWT_SECRET and the SHIFAN_S3_* settings (README "Configuration").
CMD ["sh", "-c", "shifan migrate && exec shifan serve --with-worker --host \"${HOST:-0.0.0.0}\" --port \"${PORT:-8000}\""]
