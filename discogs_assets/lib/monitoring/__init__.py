"""Monitoring: what the warehouse says about the pipeline's health, for Prometheus
(:mod:`.collector`, :mod:`.server`) and for an operator after a deploy (:mod:`.verify`).

Import the submodules directly: the collector needs ``prometheus_client``, the checks do not.
"""
