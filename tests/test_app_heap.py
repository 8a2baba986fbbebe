"""The long-lived heap leaves the garbage collector's passes after a page's first run (issue 11,
``dashboard/heap.py``): Streamlit's full collection after every run then walks only what runs
created since, yet garbage made later is still collected."""

from __future__ import annotations

import gc
import weakref

from dashboard import heap
from queries.reference.geo import boundaries, old_boundaries
from tests.apptest_helpers import ROOT, signed_in_app


def tracked_by_collections(obj: object) -> bool:
    """Whether ``gc.collect`` walks ``obj`` (frozen objects are in none of its generations)."""
    return any(o is obj for o in gc.get_objects())


def test_after_a_pages_first_run_the_geometry_and_libraries_are_out_of_the_passes(
    demo_url, monkeypatch
):
    at = signed_in_app(monkeypatch, demo_url)
    at.run()
    assert not at.exception, at.exception
    assert "" in heap.settled_pages()  # the Overview (the root address)
    # both vintages' boundaries, also the one this page did not draw
    assert not tracked_by_collections(boundaries())
    assert not tracked_by_collections(old_boundaries())
    assert not tracked_by_collections(heap.settle)  # imported code too
    at.multiselect(key="f_sex").set_value(["male"]).run()
    assert not at.exception, at.exception


class _Node:
    pass


def test_garbage_made_after_settling_is_still_collected():
    heap.settle("a page")
    node = _Node()
    node.itself = node  # a cycle: only the collector frees it
    gone = weakref.ref(node)
    del node
    gc.collect()
    assert gone() is None


def test_the_server_does_not_end_each_run_with_a_pass_over_the_whole_heap(monkeypatch):
    # Streamlit's script runner calls gc.collect(2) after every run unless runner.postScriptGC
    # is off; that pass walks every object the caches hold, a cost that grew with them under
    # the 50-session load (issue 11). The option as `streamlit run` reads it from the project.
    from streamlit import config

    monkeypatch.chdir(ROOT)
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
    finally:
        config.get_config_options(force_reparse=True)
