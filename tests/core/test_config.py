"""Configuration safety."""


def test_production_refuses_a_missing_or_weak_secret_key(monkeypatch):
    import pytest

    from config import ProductionConfig

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://training.example.gov.cn")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError):
        ProductionConfig.validate()
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError):
        ProductionConfig.validate()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    ProductionConfig.validate()
