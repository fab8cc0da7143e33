"""Read a flowlab raw or derived dataset with the README's pandas / pyarrow (and, when
installed, polars / duckdb) snippets, one kind at a time, and print what each reader saw
as JSON: {reader: {kind: {rows, columns, symbols, symbol_type}}}. Used by readers.test.ts.

usage: python3 readers.py <dataset dir> <kind> [<kind> ...]
"""
import glob
import json
import sys

root, kinds = sys.argv[1], sys.argv[2:]
out = {}


def note(reader, kind, cols, rows, symbols, symbol_type):
    out.setdefault(reader, {})[kind] = {
        "rows": int(rows),
        "columns": sorted(str(c) for c in cols),
        "symbols": sorted(str(s) for s in set(symbols)),
        "symbol_type": str(symbol_type),
    }


import pandas as pd  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402

for kind in kinds:
    # README "Reading", pandas
    files = sorted(glob.glob(f"{root}/date=*/symbol=*/kind={kind}/*.parquet"))
    df = pd.read_parquet(files)
    note("pandas", kind, df.columns, len(df), df["symbol"], df["symbol"].dtype)
    # README "Reading", pyarrow
    t = ds.dataset(files, partitioning="hive", partition_base_dir=root).to_table()
    note("pyarrow", kind, t.schema.names, t.num_rows, t.column("symbol").to_pylist(), t.schema.field("symbol").type)

# the whole directory as one hive dataset: discovery must not trip (metadata files skipped, no key/column clash)
whole = ds.dataset(root, partitioning="hive")
out["pyarrow_discovery"] = {
    "files": sorted(f[len(root):].lstrip("/") for f in whole.files),
    "schema": sorted(whole.schema.names),
}
# pandas on the whole directory as pandas users call it: the first kind's table via a partition filter
try:
    pd.read_parquet(root, filters=[("kind", "==", kinds[0])], columns=["ts_ms", "symbol"])
    out["pandas_dir"] = "ok"
except Exception as e:  # reported, asserted by the test
    out["pandas_dir"] = f"{type(e).__name__}: {e}"

try:
    import polars as pl

    for kind in kinds:
        p = pl.read_parquet(f"{root}/*/*/kind={kind}/*.parquet", hive_partitioning=True)
        note("polars", kind, p.columns, p.height, p["symbol"].to_list(), p.schema["symbol"])
except ImportError:
    pass

print(json.dumps(out))
