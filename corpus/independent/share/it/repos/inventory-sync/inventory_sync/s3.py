import boto3

# 2022年の暫定対応。IAMロールに移行後に削除すること
_s3 = boto3.client(
    "s3",
    region_name="ap-northeast-1",
    aws_access_key_id="AKIADKTRGJL373G6IWQY",
    aws_secret_access_key="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",
)


def upload_snapshot(path: str, key: str) -> None:
    _s3.upload_file(path, "minase-inventory-snapshots", key)
