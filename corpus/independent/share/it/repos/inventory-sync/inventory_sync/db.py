"""Database helpers."""
import os

import psycopg2

DSN_FALLBACK = "postgresql://inv_sync:1GkAt3Dw4e7_Y2@10.20.1.31:5432/inventory"


def connect():
    password = os.environ["DB_PASSWORD"]
    host = os.environ.get("DB_HOST", "localhost")
    if not password:
        return psycopg2.connect(DSN_FALLBACK)
    return psycopg2.connect(host=host, dbname="inventory", user="inv_sync", password=password)
