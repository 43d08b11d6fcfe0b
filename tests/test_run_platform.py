"""What `make run` (``manage.py run_platform``) gives its processes: one metrics folder they all
write to, emptied at each start, and the Stripe stand-in's state file beside the database."""

from __future__ import annotations

from jobs.management.commands.run_platform import Command


def test_the_processes_share_a_metrics_folder_emptied_at_start(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.VAR_DIR = tmp_path
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"a dead process's counts")
    (folder / "notes.txt").write_text("not ours")
    assert Command()._metrics_folder() == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # last run's figures gone, nothing else

    own = tmp_path / "elsewhere"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(own))  # the operator's own folder wins
    assert Command()._metrics_folder() == str(own) and own.is_dir()
