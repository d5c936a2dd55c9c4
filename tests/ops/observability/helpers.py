"""Reading Prometheus's text format in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has no such series (a counter that has not counted yet)."""
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return samples(response.content.decode())
