#!/usr/bin/env bash
set -e
# deploy chatbot to production (run from the bastion)
export GITLAB_TOKEN=glpat-n8gLAZBrrcmmyUgVPvsd
export STRIPE_API_KEY=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
curl -sf -X POST -H "Authorization: Bearer $GITLAB_TOKEN" https://gitlab.minase-seiki.co.jp/api/v4/projects/31/pipeline?ref=main
