"""Settings of the HTTP service, read once from the environment by `offboard serve`.

OFFBOARD_TRUSTED_PROXIES  addresses or networks of reverse proxies whose X-Forwarded-For and
                          X-Forwarded-Proto are believed (comma-separated, e.g.
                          "10.0.0.0/8,127.0.0.1"); empty: the peer address is the client.
OFFBOARD_METRICS_TOKEN    a bearer token that /metrics asks for; empty: /metrics answers only
                          clients on the loopback interface.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from offboard.domain.errors import ValidationError, error


@dataclass(frozen=True)
class WebSettings:
    trusted_proxies: tuple[str, ...] = ()
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        return cls(
            trusted_proxies=parse_networks(env.get("OFFBOARD_TRUSTED_PROXIES", "")),
            metrics_token=env.get("OFFBOARD_METRICS_TOKEN") or None,
        )


def parse_networks(value: str) -> tuple[str, ...]:
    networks = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise error(
                ValidationError,
                "invalid_trusted_proxy",
                "Trusted proxy {value!r} is not an IP address or network (e.g. 10.0.0.0/8 or 127.0.0.1).",
                value=part,
            ) from None
    return tuple(networks)
