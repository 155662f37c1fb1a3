#!/usr/bin/env sh
# The Terraform module's provider settings go to every Destination.
set -eu
cp /resources/* "${KRATIX_OUTPUT:-/kratix/output}/"
