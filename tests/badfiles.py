"""Data files of every bad shape (and two good ones), for the fuzz and input tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: name -> True when the file is usable data (enough rows, numeric, 2-D, finite).
GOOD = {"good.npy": True, "good.csv": True}


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Write every file into ``folder``; name -> path."""
    rng = np.random.default_rng(0)
    good = 1 / (1 + np.exp(-(rng.normal(size=(60, 3)) @ rng.normal(size=(3, 8)))))
    files: dict[str, object] = {
        "good.npy": good.astype(np.float32),
        "empty.npy": np.zeros((0, 8)),
        "one_d.npy": np.ones(50),
        "three_d.npy": np.ones((20, 4, 2)),
        "strings.npy": np.array([["a", "b"]] * 20),
        "nan.npy": np.where(np.eye(20, 8) > 0, np.nan, 1.0),
        "inf.npy": np.full((20, 8), np.inf),
        "huge.npy": np.full((20, 8), 1e30),
        "few_rows.npy": good[:3],
        "one_column.npy": good[:, :1],
        "bool.npy": good > 0.5,
        "complex.npy": good.astype(np.complex64),
    }
    out = {}
    for name, array in files.items():
        path = folder / name
        np.save(path, array)
        out[name] = path
    np.save(folder / "object.npy", np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
    out["object.npy"] = folder / "object.npy"
    raw = (folder / "good.npy").read_bytes()
    for name, data in {
        "truncated.npy": raw[: len(raw) // 2],
        "zero_bytes.npy": b"",
        "header_only.npy": raw[:80],
    }.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    np.savetxt(
        folder / "good.csv", good, delimiter=",", header=",".join(f"c{i}" for i in range(8)), comments=""
    )
    out["good.csv"] = folder / "good.csv"
    texts = {
        "empty.csv": "",
        "header_only.csv": "a,b,c\n",
        "text.csv": "a,b\nc,d\ne,f\n",
        "ragged.csv": "1,2,3\n4,5\n6\n",
        "nan.csv": "\n".join(["1,nan,2"] * 20),
        "two_headers.csv": "a,b\nc,d\n" + "\n".join(["1,2"] * 20),
        "blank_lines.csv": "\n\n\n",
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
        out[name] = folder / name
    (folder / "folder.npy").mkdir(exist_ok=True)
    out["folder.npy"] = folder / "folder.npy"
    (folder / "data.txt").write_text("1,2\n3,4\n")
    out["data.txt"] = folder / "data.txt"
    out["missing.npy"] = folder / "missing.npy"
    return out
