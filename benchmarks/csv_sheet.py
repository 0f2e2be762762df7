"""A CSV sheet read and written back byte for byte, against pandas' read_csv and to_csv.

    python benchmarks/csv_sheet.py --rows 200000 --columns 20

A generated sheet (`--rows` records, `--columns` text columns, every third cell holding a
comma so it is quoted, plus an id) is read with `csv_sheet.read_sheet` and with
`pandas.read_csv(dtype=str)`, then written back with `render_sheet` untouched, with a tenth
and with half of the records changed in one column (and a column added, as a first write
adds the bookkeeping columns), and with `DataFrame.to_csv`, which is what the store did
before (it rewrote every cell, losing the sheet's dialect). Each timing is the median of
`--repeat` runs; the machine is shared: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from machine import machine

from crm_hygiene.stores.csv_sheet import read_sheet, render_sheet


def _median(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    frame = pd.DataFrame(
        {
            f"c{j}": [f"value {i} {j}, x" if j % 3 == 0 else f"v{i}_{j}" for i in range(n)]
            for j in range(args.columns)
        }
    )
    frame.insert(0, "id", [f"C{i}" for i in range(n)])
    path = Path(tempfile.mkdtemp()) / "contacts.csv"
    frame.to_csv(path, index=False)
    data = path.read_bytes()

    read, layout = read_sheet(data)
    layout.baseline = read.copy()
    assert render_sheet(read, layout) == data, "an untouched sheet comes back byte for byte"
    tenth, half = read.copy(), read.copy()
    tenth.loc[::10, "c1"] = "changed"
    half.loc[::2, "c1"] = "changed"
    half["version"] = "1"
    out = Path(tempfile.mkdtemp()) / "out.csv"
    seconds = {
        "read_sheet": _median(lambda: read_sheet(data), args.repeat),
        "pandas read_csv": _median(lambda: pd.read_csv(path, dtype=str, keep_default_na=False), args.repeat),
        "render untouched": _median(lambda: render_sheet(read, layout), args.repeat),
        "render a tenth changed": _median(lambda: render_sheet(tenth, layout), args.repeat),
        "render half changed, a column added": _median(lambda: render_sheet(half, layout), args.repeat),
        "pandas to_csv": _median(lambda: read.to_csv(out, index=False), args.repeat),
    }
    print(
        json.dumps(
            {
                "rows": n,
                "columns": args.columns + 1,
                "megabytes": round(len(data) / 1e6, 1),
                "seconds": {k: round(v, 2) for k, v in seconds.items()},
                "read / pandas": round(seconds["read_sheet"] / seconds["pandas read_csv"], 2),
                "render a tenth changed / to_csv": round(
                    seconds["render a tenth changed"] / seconds["pandas to_csv"], 2
                ),
            }
        )
    )
    print(json.dumps({"machine": machine()}))


if __name__ == "__main__":
    main()
