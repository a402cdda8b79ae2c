"""`python -m core`: the command line, over the same service functions as the pages."""
from core.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
