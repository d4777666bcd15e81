"""dbt's invocation folders under the target path: the newest of each step are kept."""

import os

from orchestration.project import DBT_STEPS, RUNS_KEPT, prune_invocation_folders


def test_only_the_newest_invocation_folders_of_each_step_are_kept(tmp_path):
    for n in range(RUNS_KEPT + 2):
        for step in DBT_STEPS:
            folder = tmp_path / f"{step}-{n:07}-abcdef0"
            (folder / "compiled").mkdir(parents=True)
            os.utime(folder, (1_700_000_000 + n, 1_700_000_000 + n))
    (tmp_path / "partial_parse.msgpack").write_bytes(b"")
    (tmp_path / "compiled").mkdir()
    prune_invocation_folders(tmp_path)
    left = {f.name for f in tmp_path.iterdir()}
    kept = {f"{step}-{n:07}-abcdef0" for n in range(2, RUNS_KEPT + 2) for step in DBT_STEPS}
    assert left == kept | {"partial_parse.msgpack", "compiled"}
