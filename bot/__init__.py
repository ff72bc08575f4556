"""The ITA duty bot: keeps a Thai local administration on top of its OIT disclosure duties."""

__version__ = "0.1.0"
