"""Pure: what a unit asks of a node, and where it goes after refusals."""

from __future__ import annotations

import pickle

import pytest

from benchwarden.bench.cluster.needs import (
    CALL_CPUS,
    RESOURCE_SHARE,
    NoCapableNode,
    NodeRefused,
    Refusals,
    resource_name,
    unit_shape,
)
from benchwarden.bench.plan import Task
from benchwarden.bench.suite import Item
from benchwarden.bench.suites.smoke import SMOKE
from benchwarden.bench.work import SuiteRef, Unit, requirements
from benchwarden.models.registry import resolve


def test_resource_names() -> None:
    assert resource_name("sandbox") == "benchwarden_sandbox"
    assert resource_name("toolchain:cpp") == "benchwarden_toolchain_cpp"


def test_shapes() -> None:
    sandbox = unit_shape(["sandbox", "toolchain:go"], "openai", {"benchwarden_toolchain_go"})
    assert sandbox.num_cpus == 1.0
    # Only what some node declares becomes a custom resource; the rest is checked on the node.
    assert sandbox.resources == {"benchwarden_toolchain_go": RESOURCE_SHARE}
    assert unit_shape([], "local", ()).num_cpus == 1.0  # embedded inference takes a core
    call = unit_shape([], "openai", {"benchwarden_sandbox"})
    assert call.num_cpus == CALL_CPUS and call.resources == {}
    assert unit_shape(["sandbox"], "local", ()).memory > unit_shape(["sandbox"], "x", ()).memory


def test_requirements_of_suites() -> None:
    from benchwarden.bench.registry import get_suite

    item = Item(id="a", prompt="x")
    assert requirements(SMOKE, item) == ()
    assert requirements(get_suite("humaneval"), item) == ("sandbox",)
    polyglot = get_suite("polyglot")
    exercise = Item(id="e", prompt="x", metadata={"language": "rust"})
    assert requirements(polyglot, exercise) == ("sandbox", "toolchain:rust")


def test_refusals_pin_elsewhere_then_give_up() -> None:
    alive = {"n1": "10.0.0.1 (n1)", "n2": "10.0.0.2 (n2)", "n3": "10.0.0.3 (n3)"}
    refusals = Refusals()
    assert refusals.pick(["sandbox"], alive, 0) is None  # nothing refused: Ray places it
    refusals.record(NodeRefused("10.0.0.1 (n1)", "sandbox", "bwrap missing"), "n1")
    assert {refusals.pick(["sandbox"], alive, t) for t in range(4)} == {"n2", "n3"}
    assert refusals.pick(["toolchain:go"], alive, 0) is None  # other needs unaffected
    refusals.record(NodeRefused("10.0.0.2 (n2)", "sandbox", "bwrap missing"), "n2")
    refusals.record(NodeRefused("10.0.0.3 (n3)", "sandbox", "no user namespaces"), "n3")
    with pytest.raises(NoCapableNode) as info:
        refusals.pick(["sandbox"], alive, 0)
    message = str(info.value)
    assert "10.0.0.3 (n3): sandbox: no user namespaces" in message and "--retry-errors" in message
    assert refusals.notes()[0] == "10.0.0.1 (n1) refused 1 unit(s) needing sandbox: bwrap missing"


def test_units_and_refusals_pickle() -> None:
    """What crosses to a worker and back is plain data."""
    unit = Unit(
        run_id="r",
        task=Task("local/smollm2-135m", "smoke", "a", 0, 7),
        item=Item(id="a", prompt="x", metadata={"k": [1, 2]}),
        suite=SuiteRef("smoke"),
        spec=resolve("local/smollm2-135m", {}),
        requirements=("sandbox",),
    )
    assert pickle.loads(pickle.dumps(unit)) == unit
    refusal = pickle.loads(pickle.dumps(NodeRefused("n", "sandbox", "why")))
    assert (refusal.node, refusal.requirement, refusal.reason) == ("n", "sandbox", "why")
