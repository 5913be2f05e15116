from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    openai_api_key: str = "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"
    openai_fallback_key: str = "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"
    model: str = "gpt-4o-mini"
    db_password: str = "*OPCqMsD2AVnY0"
    max_tokens: int = 800
