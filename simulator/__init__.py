"""urbsd: a system-dynamics scenario simulator for the urbanization of Pingliang City."""

__version__ = "0.1.0"
