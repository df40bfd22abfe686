"""kbgen: a self-hosted customer support portal generator."""

__version__ = "0.1.0"
