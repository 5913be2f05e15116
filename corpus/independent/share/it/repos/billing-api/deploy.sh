#!/usr/bin/env bash
set -e
# deploy billing-api to production (run from the bastion)
export GITLAB_TOKEN=glpat-ZsKOVSDyAQ12Py7IKoj6
export STRIPE_API_KEY=sk_live_lfPyWsVYvmbynsjdpypGwzZY
curl -sf -X POST -H "Authorization: Bearer $GITLAB_TOKEN" https://gitlab.minase-seiki.co.jp/api/v4/projects/32/pipeline?ref=main
