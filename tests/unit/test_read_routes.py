"""Where a request's reads may go (tandem/domain/reads.py), and how a replica's lag is measured
(tandem/persistence/replicas.py); the real replica is in tests/ops/test_read_replicas.py."""

from __future__ import annotations

import contextvars
import math

from tandem.config import Settings
from tandem.domain import reads
from tandem.persistence.database import Database
from tandem.persistence.replicas import CHECK_SECONDS, RoutedDatabase, Samples


def in_fresh_context(function):  # type: ignore[no-untyped-def]
    return contextvars.copy_context().run(function)


def test_a_get_may_use_a_replica_once_the_caller_is_known_and_until_it_writes() -> None:
    def run() -> None:
        reads.open_route(read_only=True)
        route = reads.current()
        assert route is not None and not route.may_use_replica  # the guard has not read yet
        route.known = True
        assert route.may_use_replica
        route.wrote = True
        assert not route.may_use_replica

    in_fresh_context(run)


def test_a_mutation_pins_the_request_to_the_primary_even_beside_a_query() -> None:
    def run() -> None:
        reads.open_route(read_only=False)  # a GraphQL POST
        route = reads.current()
        assert route is not None
        route.known = True
        reads.operation_reads_only(True)
        assert route.may_use_replica
        reads.operation_reads_only(False)
        reads.operation_reads_only(True)  # a later query of the same batch
        assert not route.may_use_replica

    in_fresh_context(run)


def test_lag_is_the_age_of_the_newest_primary_position_the_replica_has_replayed() -> None:
    samples = Samples(keep=10)
    assert samples.lag(0, now=0.0) == math.inf  # never measured: not usable
    samples.add(0.0, 100)
    samples.add(0.5, 100)  # the primary idle: a replica at 100 is not behind at all
    assert samples.lag(100, now=0.6) == 0.0
    samples.add(1.0, 180)
    samples.add(1.5, 260)
    assert samples.lag(260, now=1.6) == 0.0
    assert samples.lag(200, now=1.6) == 1.6 - 1.0  # it holds what committed before 1.0
    assert samples.lag(100, now=1.6) == 1.6 - 0.5
    assert samples.lag(50, now=1.6) == 1.6 - 0.0 + CHECK_SECONDS  # older than anything kept


def test_without_replica_urls_the_plain_database_is_built() -> None:
    plain = Database.from_settings(Settings(database_url="postgresql://u@h/d"))
    assert type(plain) is Database
    routed = Database.from_settings(
        Settings(
            database_url="postgresql://u@h/d",
            database_replica_urls="postgresql://u@r1:5433/d, postgres://u@r2/d",
        )
    )
    reads.enabled = False  # this process serves no replicas: open no routes for later tests
    assert isinstance(routed, RoutedDatabase)
    assert [replica.name for replica in routed.replicas] == ["r1:5433/d", "r2:5432/d"]
