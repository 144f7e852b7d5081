"""fab's version, in a module of its own so that nothing needs the package ``__init__``."""

__version__ = "0.1.0"
