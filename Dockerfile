FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
COPY data ./data
COPY config ./config
RUN pip install --no-cache-dir -e .
CMD ["python", "-m", "bot", "run"]
