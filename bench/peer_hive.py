"""Run a performance peer (../shared/peers/polars_peer.py) on today's dataset layout.

    python3 bench/peer_hive.py <peer.py> <peer args...>

The peer was written when every part file carried its `symbol` column; flowlab's
raw and derived part files no longer do (the hive key `symbol=` of the path carries
it, README "Reading the data"). This wrapper makes Polars' Parquet readers take the
hive keys from the folder names for any path with a `symbol=` key, then runs the
peer unchanged as __main__ (its timing, computation, output and --compare are its
own). Reading the key from the path is what a researcher would write against these
files; it costs the peer no extra work inside its timed section beyond that.
"""
import runpy
import sys

import polars as pl

_read_parquet, _scan_parquet = pl.read_parquet, pl.scan_parquet


def _hive(fn):
    def wrapped(source, *args, **kwargs):
        if "symbol=" in str(source):
            kwargs["hive_partitioning"] = True
        return fn(source, *args, **kwargs)

    return wrapped


pl.read_parquet, pl.scan_parquet = _hive(_read_parquet), _hive(_scan_parquet)

if len(sys.argv) < 2:
    sys.stderr.write("usage: peer_hive.py <peer.py> <peer args...>\n")
    sys.exit(2)
peer = sys.argv[1]
sys.argv = [peer] + sys.argv[2:]
runpy.run_path(peer, run_name="__main__")
