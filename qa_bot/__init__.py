"""qa-bot: question answering over press releases, with cited answers."""

__version__ = "0.1.0"
