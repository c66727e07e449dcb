"""Commands that quiet the logs while they run give them back as they were, also when they fail:
they run inside other programs too (a test run's later tests read the logs)."""

from __future__ import annotations

import logging

import pytest

from medsettle.adapters.observability import quieter, silenced


def test_a_quieted_logger_gets_its_level_back_even_after_an_error() -> None:
    logger = logging.getLogger("medsettle.quiet-test")
    logger.setLevel(logging.INFO)
    with pytest.raises(RuntimeError), quieter("medsettle.quiet-test", logging.ERROR):
        assert not logger.isEnabledFor(logging.WARNING)
        raise RuntimeError("boom")
    assert logger.level == logging.INFO and logger.isEnabledFor(logging.INFO)


def test_silenced_logging_speaks_again_after_the_block() -> None:
    logger = logging.getLogger("medsettle.quiet-test")
    with silenced():
        with silenced():
            assert not logger.isEnabledFor(logging.CRITICAL)
        assert not logger.isEnabledFor(logging.CRITICAL)  # the outer block still holds
    assert logging.root.manager.disable == logging.NOTSET
