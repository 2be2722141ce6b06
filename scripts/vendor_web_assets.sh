#!/usr/bin/env bash
# The web desk's static assets, vendored at pinned versions from the npm registry (`npm pack`);
# nothing is loaded from a CDN at run time. Run again after changing a version below; the
# checksums land in bot/web/static/vendor/VENDOR.txt (commit both).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bot/web/static/vendor
HTMX=2.0.8        # htmx.org, BSD-2-Clause (0BSD since 2.0)
PICO=2.1.1        # @picocss/pico, MIT
MERMAID=11.6.0    # mermaid, MIT (the flow diagrams on the admin pages)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "htmx.org@$HTMX" "@picocss/pico@$PICO" "mermaid@$MERMAID" >/dev/null )
mkdir -p "$OUT"
extract() {  # tarball, path inside the package, destination name
  tar -xzf "$work/$1" -C "$work" "package/$2"
  cp "$work/package/$2" "$OUT/$3"
  rm -rf "$work/package"
}
extract "htmx.org-$HTMX.tgz" dist/htmx.min.js htmx.min.js
extract "htmx.org-$HTMX.tgz" LICENSE htmx.LICENSE
extract "picocss-pico-$PICO.tgz" css/pico.min.css pico.min.css
extract "picocss-pico-$PICO.tgz" LICENSE.md pico.LICENSE
extract "mermaid-$MERMAID.tgz" dist/mermaid.min.js mermaid.min.js
extract "mermaid-$MERMAID.tgz" LICENSE mermaid.LICENSE
{
  echo "# npm packages vendored by scripts/vendor_web_assets.sh (sha256 of each file)"
  echo "htmx.org@$HTMX @picocss/pico@$PICO mermaid@$MERMAID"
  ( cd "$OUT" && sha256sum htmx.min.js pico.min.css mermaid.min.js )
} > "$OUT/VENDOR.txt"
echo "vendored into $OUT:"; ls -l "$OUT"
