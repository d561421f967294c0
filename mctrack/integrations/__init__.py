"""Adapters to other tracking tools, each in its own module and imported only when asked for (their libraries are
optional extras): ``mctrack.integrations.supervision``, ``mctrack.integrations.boxmot``."""

__all__: list[str] = []
