"""Where the published copy keeps what (folder: CSAT_PUBLISHED_DIR):

csat.duckdb                  schema `marts`: one table per mart + `marts.publication`
parquet/<mart>.parquet       the same marts, but the facts by month:
parquet/<fact>/month_start_date=<YYYY-MM-DD>/data_0.parquet
                             a fact (`fct_*`) with a month column, one folder per month (Hive
                             layout; no month: month_start_date=__HIVE_DEFAULT_PARTITION__), so a
                             publication rewrites the months that changed, not the whole fact
parquet/publication.parquet  when and from which Dagster run, and each mart's content fingerprint
                             (also in the key-value metadata of its Parquet file: mart_changes.py)
.csat.duckdb.previous        the file the last publication replaced (a hard link kept at the swap): the
                             next publication brings it up to date instead of copying csat.duckdb
                             (published_copy.py); hidden, not for readers
csat.duckdb, schema          each month's content (rows, sum of row hashes) of the marts by month, so
`publication_state`          that the next publication need not read the copy again (mart_changes.py)
"""

import re

DATABASE_FILE = "csat.duckdb"
PARQUET_DIR = "parquet"
REPLACED_FILE = f".{DATABASE_FILE}.previous"
MART_SCHEMA = "marts"
PUBLICATION_TABLE = "publication"
# The publication record sits with the marts (BI tools list one schema); it names the working
# warehouse by file name only: a server path means nothing to a BI user and says too much.
PUBLICATION = f"{MART_SCHEMA}.{PUBLICATION_TABLE}"
FINGERPRINT_COLUMN = "content_fingerprint"
MONTH_COLUMN = "month_start_date"  # the marts' month grain (mart_changes.py, month_files.py)
FACT_PREFIX = "fct_"  # a fact with MONTH_COLUMN is published as Parquet files by month
# Hive's name for the folder of a NULL partition value: what DuckDB, Spark and others write and read.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
MONTH_FILE = "data_0.parquet"  # the one file in each month's folder
# The pipeline's own bookkeeping, apart from the schema BI users list.
STATE_SCHEMA = "publication_state"
MONTH_CONTENTS_TABLE = "mart_months"
MONTH_CONTENTS = f"{STATE_SCHEMA}.{MONTH_CONTENTS_TABLE}"
READ_ONLY_MODE = 0o444  # published files: readable by BI tools, written only by the pipeline's renames
# Temporary names of a publication in progress: `.csat.duckdb.<run>-<pid>.tmp[.wal]`, `parquet/.tmp-<run>-<pid>/`.
TEMPORARY_NAME = re.compile(r"^(?:\." + re.escape(DATABASE_FILE) + r"\.|\.tmp-).*-(\d+)(?:\.tmp(?:\.wal)?)?$")
