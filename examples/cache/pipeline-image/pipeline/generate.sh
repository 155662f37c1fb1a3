#!/bin/sh
# First pipeline: turn the request into a manifest for the Destination.
set -eu
name=$(sed -n 's/^  name: //p' /kratix/input/object.yaml | head -n1)
namespace=$(sed -n 's/^  namespace: //p' /kratix/input/object.yaml | head -n1)
size=$(sed -n 's/^  size: //p' /kratix/input/object.yaml | head -n1)
echo "generating a $size cache for $namespace/$name"
cat > /kratix/output/cache.yaml <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: cache-$name
  namespace: $namespace
data:
  size: $size
YAML
printf 'message: cache manifest generated\nmanifest: cache.yaml\nsize: %s\n' "$size" > /kratix/metadata/status.yaml
