# Quick experiment - do not commit keys! (2023-08 K.Ikeda)
import openai

openai.api_key = "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"
PROMPT = "次のレビューを3行で要約してください:\n{text}"


def summarize(text: str) -> str:
    res = openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": PROMPT.format(text=text)}])
    return res["choices"][0]["message"]["content"]
