"""The generate side: turn resolved components into Kubernetes documents; never writes files."""
