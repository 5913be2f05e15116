from inventory_sync.settings import load

# AWS documentation example credentials -- never real
FAKE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_load_reads_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    cfg = load()
    assert cfg.aws.access_key_id == FAKE_KEY_ID
    password = None
    assert cfg.database.password is password
