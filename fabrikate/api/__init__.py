"""The operations, one module each: values in, results out (the CLI and the dashboard are
thin shells over them). ``fabrikate`` re-exports the public ones."""
