"""Record stores, picked by URL."""
