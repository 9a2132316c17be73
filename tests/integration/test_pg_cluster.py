"""The tests' own PostgreSQL clusters start even when their port was taken after it was chosen,
and a start that fails says why."""

from __future__ import annotations

import socket

import pytest

from tests.integration.pg_cluster import cluster_root, new_cluster


def test_a_first_start_on_a_port_taken_meanwhile_moves_to_a_free_one() -> None:
    with cluster_root() as root, new_cluster(root) as cluster, socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cluster.port))
        squatter.listen()
        taken = cluster.port
        cluster.start()
        assert cluster.port != taken
        assert cluster.execute("SELECT 1") == [(1,)]
        assert "already in use" in cluster.log_tail()


def test_a_restart_keeps_its_port_and_a_failed_start_shows_the_server_log() -> None:
    with cluster_root() as root, new_cluster(root) as cluster:
        cluster.start()
        cluster.stop()
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", cluster.port))
            squatter.listen()
            port = cluster.port
            with pytest.raises(AssertionError, match="already in use"):
                cluster.start()
            assert cluster.port == port
