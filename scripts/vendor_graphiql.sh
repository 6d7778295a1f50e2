#!/usr/bin/env bash
# Fetch GraphiQL and React from the npm registry into app/static/graphiql and check them against
# SOURCES.json (the same SRI hashes strawberry's CDN page pins). Run when upgrading GraphiQL.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=app/static/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$dest/SOURCES.json" <<'PY' > "$work/list"
import json, sys
for name, f in json.load(open(sys.argv[1]))["files"].items():
    print(name, f["package"], f["path"], f["sha384"])
PY
while read -r name package path sha; do
  (cd "$work" && tgz=$(npm pack --silent "$package") && mkdir -p "x-$package" && tar xzf "$tgz" -C "x-$package")
  cp "$work/x-$package/package/$path" "$dest/$name"
  got=$(openssl dgst -sha384 -binary "$dest/$name" | base64 -w0)
  [ "$got" = "$sha" ] || { echo "hash mismatch for $name" >&2; exit 1; }
  echo "ok $name ($package)"
done < "$work/list"
