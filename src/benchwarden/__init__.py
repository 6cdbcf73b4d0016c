"""benchwarden: compare language models side by side, and serve them under contract terms."""

__version__ = "0.1.0"
