#!/bin/sh
# Second pipeline: sees what the first wrote into the request's status.
set -eu
# Each pipeline start resets the message to Pending; other keys persist.
if grep -q 'manifest: cache.yaml' /kratix/input/object.yaml; then
  echo "the generate pipeline has run; reporting"
  printf 'message: cache ready\nendpoint: "cache.%s.svc:6379"\n' "$KRATIX_OBJECT_NAMESPACE" > /kratix/metadata/status.yaml
else
  echo "the generate pipeline's status is missing" >&2
  exit 1
fi
