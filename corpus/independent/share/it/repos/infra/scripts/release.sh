#!/bin/bash
set -euo pipefail
# TODO: move to secrets manager
export GH_TOKEN=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
export GITLAB_TOKEN=glpat-p2nwBW7Fc32dGVb2GocC
TAG=$(git describe --tags --abbrev=0)
gh release create "$TAG" --notes-file CHANGELOG.md
echo "released $TAG"
