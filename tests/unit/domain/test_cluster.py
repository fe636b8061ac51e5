"""A Ray cluster's address and sizes, checked before any work."""

import pytest

from regard.domain.cluster import RayCluster
from regard.errors import InvalidRequestError


@pytest.mark.parametrize(
    "address", ["auto", "ray://head:10001", "ray://10.0.0.5:10001", "head.local:6379"]
)
def test_addresses_ray_understands_are_taken(address):
    assert RayCluster(address).address == address


@pytest.mark.parametrize("address", ["", "head", "http://head:8265", "ray://head", "auto "])
def test_other_addresses_are_refused_with_the_forms_that_work(address):
    with pytest.raises(InvalidRequestError) as caught:
        RayCluster(address)
    assert str(caught.value) == (
        f"--ray {address!r} is not a Ray cluster's address: give `auto` (this machine), "
        "ray://HEAD:10001 (a cluster's Ray Client) or HEAD:6379 (from one of its nodes)."
    )


def test_workers_and_batches_are_at_least_one():
    with pytest.raises(InvalidRequestError, match="--workers must be at least 1 with --ray"):
        RayCluster("auto", workers=0)
    with pytest.raises(InvalidRequestError, match="at least 1"):
        RayCluster("auto", batch=0)
