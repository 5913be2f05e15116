cd ~/work/order-api
git pull --rebase
./gradlew test
export AWS_ACCESS_KEY_ID=AKIALMHREAACJEV2B2ST
export AWS_SECRET_ACCESS_KEY=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
aws s3 ls s3://minase-backup-prod/erp/
ssh deploy@10.20.1.5
psql postgresql://app_ro:BUWE02S!CfcpQ6@10.20.1.15:5432/erp -c 'select count(*) from sales.orders'
curl -s -H "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzYXRvLWsiLCJpc3MiOiJvcmRlci1hcGkiLCJpYXQiOjE3MTgxNTUyMDEsImV4cCI6MTcxODE1ODgwMSwiZW1haWwiOiJuYWthZ2F3YS55dWtvQG1pbmFzZS1zZWlraS5jby5qcCIsInJvbGVzIjpbIm9wZXJhdG9yIiwidmlld2VyIl19.kmFMRpFlNVI5KRujyfmRvPyLgLjsBamNz9gIDbcdpjQ" https://api.minase-seiki.co.jp/v1/members/me | jq .
npm config set //registry.npmjs.org/:_authToken npm_RGJdVV4r9TyPCA5xNeWpfYm4ZIfp6oex4sRE
history | grep ssh
vim ~/.ssh/config
exit
