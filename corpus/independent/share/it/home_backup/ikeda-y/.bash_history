cd ~/work/order-api
git pull --rebase
./gradlew test
export AWS_ACCESS_KEY_ID=AKIAMXMZTYKLFI5BGH77
export AWS_SECRET_ACCESS_KEY=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
aws s3 ls s3://minase-backup-prod/erp/
ssh deploy@10.20.1.5
psql postgresql://app_ro:21g4qqzhzDU8t.@10.20.1.15:5432/erp -c 'select count(*) from sales.orders'
curl -s -H "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJpa2VkYS15IiwiaXNzIjoiaHR0cHM6Ly9hdXRoLm1pbmFzZS1zZWlraS5jby5qcCIsImlhdCI6MTcxODMyNTA5MiwiZXhwIjoxNzE4MzI1OTkyLCJlbWFpbCI6InRha2FoYXNoaS5zaG90YUBtaW5hc2Utc2Vpa2kuY28uanAiLCJyb2xlcyI6WyJhZG1pbiJdfQ.KQlYM-PyFEkQYq36YbuUjr8DdrjETcVIsjgnkLCTSlI" https://api.minase-seiki.co.jp/v1/members/me | jq .
npm config set //registry.npmjs.org/:_authToken npm_XVaeQtrWDSNhzktTwgRnm67NxD9ix5xRB4S9
history | grep ssh
vim ~/.ssh/config
exit
