cd ~/work/order-api
git pull --rebase
./gradlew test
export AWS_ACCESS_KEY_ID=AKIAS4RLTA5KVVXUA4S5
export AWS_SECRET_ACCESS_KEY=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
aws s3 ls s3://minase-backup-prod/erp/
ssh deploy@10.20.1.5
psql postgresql://app_ro:*9XnbQlHNRb7zL@10.20.1.15:5432/erp -c 'select count(*) from sales.orders'
curl -s -H "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJraW11cmEtdCIsImlzcyI6Im1lbWJlci1wb3J0YWwiLCJpYXQiOjE3MTg0NDg0NTcsImV4cCI6MTcxODUzNDg1NywiZW1haWwiOiJrYW5la28teUBtaW5hc2Utc2Vpa2kuY28uanAiLCJyb2xlcyI6WyJhZG1pbiJdfQ.0oznaqXUKF0gpa45Posr84SYZU1uURAUpK5ixyey5Xw" https://api.minase-seiki.co.jp/v1/members/me | jq .
npm config set //registry.npmjs.org/:_authToken npm_WBsZ7rFCZKYGKnQ0vTk1gNUIlS2M46btcPDb
history | grep ssh
vim ~/.ssh/config
exit
