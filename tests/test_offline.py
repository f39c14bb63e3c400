"""Nothing downloads at run time: the demo runs with every network connection refused."""

import socket

import pytest

from holocorr.demo import run


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::holocorr.errors.HolocorrWarning")  # residues at Pt, registration
def test_demo_runs_with_sockets_disabled(tmp_path, monkeypatch):
    attempts = []

    def refuse(self, *args, **kwargs):
        attempts.append(args)
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, *a))
    summary = run(tmp_path / "out", progress=False)
    assert attempts == []
    assert summary["potential_front_nm"] == pytest.approx(400, abs=10)
