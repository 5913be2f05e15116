#!/usr/bin/env bash
set -e
# deploy ec-frontend to production (run from the bastion)
export GITLAB_TOKEN=glpat-GlsVKzjjSbG0xEyLw_S7
export STRIPE_API_KEY=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
curl -sf -X POST -H "Authorization: Bearer $GITLAB_TOKEN" https://gitlab.minase-seiki.co.jp/api/v4/projects/30/pipeline?ref=main
