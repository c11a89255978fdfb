#!/usr/bin/env bash
# Refuses to deploy an overlay whose worker image is not pinned by a real digest (docs/deploy.md,
# "Kubernetes"): run it before `kubectl apply -k k8s/overlays/prod`. Exit 0 when every image of the
# rendered overlay is `<name>@sha256:<64 hex>` and not the all-zero placeholder; exit 1 naming the
# image otherwise (a tag, an empty digest, the placeholder). kubectl from $KUBECTL, else PATH.
set -euo pipefail

overlay="${1:-k8s/overlays/prod}"
kubectl="${KUBECTL:-kubectl}"
rendered="$("$kubectl" kustomize "$overlay")"
images="$(printf '%s\n' "$rendered" | sed -n 's/^ *image: *//p' | tr -d "\"'")"
if [[ -z "$images" ]]; then
  echo "$overlay: no image found in the rendered objects" >&2
  exit 1
fi
status=0
while IFS= read -r image; do
  if [[ ! "$image" =~ @sha256:[0-9a-f]{64}$ ]]; then
    echo "$overlay: $image is not pinned by digest (set images[].digest in its kustomization.yaml)" >&2
    status=1
  elif [[ "$image" =~ @sha256:0{64}$ ]]; then
    echo "$overlay: $image still has the placeholder digest: set the release's digest" >&2
    status=1
  fi
done <<<"$images"
exit "$status"
