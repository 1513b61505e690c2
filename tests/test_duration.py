import pytest

from lthbench.spec.duration import Duration


@pytest.mark.parametrize(
    ("text", "epochs", "iterations"),
    [("160ep", 160, 0), ("500it", 0, 500), ("2ep100it", 2, 100), ("0it", 0, 0)],
)
def test_parse_and_print_round_trip(text: str, epochs: int, iterations: int) -> None:
    duration = Duration.parse(text)
    assert (duration.epochs, duration.iterations) == (epochs, iterations)
    assert str(duration) == text


@pytest.mark.parametrize("text", ["", "ep", "10", "1.5ep", "-3it", "100it2ep", "10 ep", "3epochs"])
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Duration.parse(text)


def test_to_iterations_uses_epoch_length() -> None:
    assert Duration.parse("2ep100it").to_iterations(59) == 218
    assert Duration.parse("500it").to_iterations(1000) == 500
