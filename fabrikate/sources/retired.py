"""What fab knows of retired chart hosts and of charts that moved.

    RETIRED[0]  # ('https://kubernetes-charts.storage.googleapis.com', 'https://charts.helm.sh/stable')
    moved_to("nginx-ingress")  # 'ingress-nginx from https://kubernetes.github.io/ingress-nginx'

The Helm project retired the chart repositories of helm/charts in November 2020; their
charts are frozen at charts.helm.sh, every one marked deprecated. Helm itself refuses the old
hosts ("repo ... is no longer available; try https://charts.helm.sh/stable"). The built-in
mirror rules (``mirrors.py``) map them to their new homes.
"""

from __future__ import annotations

__all__ = ["INCUBATOR", "RETIRED", "STABLE", "moved_to"]

STABLE = "https://charts.helm.sh/stable"
INCUBATOR = "https://charts.helm.sh/incubator"

# (retired URL prefix, where its charts are now). The path-style URLs name the same buckets.
RETIRED = (
    ("https://kubernetes-charts.storage.googleapis.com", STABLE),
    ("http://kubernetes-charts.storage.googleapis.com", STABLE),
    ("https://kubernetes-charts-incubator.storage.googleapis.com", INCUBATOR),
    ("http://kubernetes-charts-incubator.storage.googleapis.com", INCUBATOR),
    ("https://storage.googleapis.com/kubernetes-charts", STABLE),
    ("https://storage.googleapis.com/kubernetes-charts-incubator", INCUBATOR),
)

# Where well-known charts of the stable repository went when it was retired: (chart, repository).
_MOVED = {
    "nginx-ingress": ("ingress-nginx", "https://kubernetes.github.io/ingress-nginx"),
    "prometheus-operator": (
        "kube-prometheus-stack",
        "https://prometheus-community.github.io/helm-charts",
    ),
    "prometheus": ("prometheus", "https://prometheus-community.github.io/helm-charts"),
    "kube-state-metrics": (
        "kube-state-metrics",
        "https://prometheus-community.github.io/helm-charts",
    ),
    "grafana": ("grafana", "https://grafana.github.io/helm-charts"),
    "elasticsearch": ("elasticsearch", "https://helm.elastic.co"),
    "kibana": ("kibana", "https://helm.elastic.co"),
    "fluent-bit": ("fluent-bit", "https://fluent.github.io/helm-charts"),
    "jenkins": ("jenkins", "https://charts.jenkins.io"),
    "metrics-server": ("metrics-server", "https://kubernetes-sigs.github.io/metrics-server"),
    "traefik": ("traefik", "https://traefik.github.io/charts"),
    "redis": ("redis", "https://charts.bitnami.com/bitnami"),
    "mysql": ("mysql", "https://charts.bitnami.com/bitnami"),
    "postgresql": ("postgresql", "https://charts.bitnami.com/bitnami"),
    "mongodb": ("mongodb", "https://charts.bitnami.com/bitnami"),
    "rabbitmq": ("rabbitmq", "https://charts.bitnami.com/bitnami"),
    "kong": ("kong", "https://charts.konghq.com"),
    "minio": ("minio", "https://charts.min.io"),
}


def moved_to(chart: str) -> str:
    """Where a chart of the retired stable repository is maintained now, or ''."""
    found = _MOVED.get(chart)
    return f"{found[0]} from {found[1]}" if found else ""
