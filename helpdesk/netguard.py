"""SSRF guard: the help desk fetches URLs it did not choose (webhook targets, provider media
links in inbound payloads); none of them may reach the machine itself or the private network.

A URL is refused when its host is, or resolves to, a loopback, private, link-local,
multicast, reserved, shared (CGNAT), unspecified or otherwise non-global address, IPv4 or
IPv6 (IPv4-mapped, 6to4, Teredo and NAT64 forms are unwrapped and checked as IPv4). The
check is made twice: once when a URL is accepted (`url_check`, a clear error for the
person who typed it) and again on every connection (`guarded_urlopen`), against the very
address the socket connects to, so a name that resolves to a public address when saved and
to 127.0.0.1 later (DNS rebinding) is still refused, and so is every redirect.

Allowed anyway:
- hosts and networks listed in the setting NETGUARD_ALLOW (comma-separated in the
  environment: `10.0.0.0/8`, `192.168.1.20`, `crm.internal`);
- the hosts of the configured provider base URLs (TELEGRAM_API_BASE, TWILIO_API_BASE,
  META_GRAPH_BASE): whoever sets those chose them.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PROVIDER_BASE_SETTINGS = ("TELEGRAM_API_BASE", "TWILIO_API_BASE", "META_GRAPH_BASE")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL may not be fetched; the message says why in words a person can act on."""


# --- Policy ------------------------------------------------------------------------------------------


def _allow_entries() -> tuple[list[IPNetwork], set[str]]:
    raw = getattr(settings, "NETGUARD_ALLOW", []) or []
    if isinstance(raw, str):
        raw = raw.split(",")
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for entry in (str(item).strip() for item in raw):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    for name in PROVIDER_BASE_SETTINGS:
        host = urllib.parse.urlsplit(str(getattr(settings, name, "") or "")).hostname
        if host:
            hosts.add(host.lower().rstrip("."))
    return networks, hosts


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_blocked(ip: IPAddress | str) -> bool:
    """True for any address that is not a plain public unicast address."""
    ip = _unwrap(ipaddress.ip_address(ip) if isinstance(ip, str) else ip)
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _address_allowed(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    candidates = {ip, _unwrap(ip)}
    for network in networks:
        if any(c.version == network.version and c in network for c in candidates):
            return True
    return not address_blocked(ip)


def _host_allowed(host: str, hosts: set[str]) -> bool:
    return host.lower().rstrip(".").strip("[]") in {h.strip("[]") for h in hosts}


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


# --- Checks ------------------------------------------------------------------------------------------


def _split(url: str) -> tuple[str, int]:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(_("That is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(_("Only http:// and https:// URLs can be used."))
    if not parts.hostname:
        raise UnsafeURL(_("The URL has no host."))
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def url_check(url: str, *, require_resolvable: bool = False) -> None:
    """Raise UnsafeURL when `url` points at a refused address. A host name that does not
    resolve (yet) passes unless `require_resolvable`: it is checked again on connecting."""
    host, port = _split(url)
    networks, hosts = _allow_entries()
    if _host_allowed(host, hosts):
        return
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            if require_resolvable:
                raise UnsafeURL(_("The host %(host)s could not be found.") % {"host": host}) from exc
            return
    for ip in addresses:
        if not _address_allowed(ip, networks):
            raise UnsafeURL(
                _(
                    "%(host)s is a loopback, private or reserved address (%(ip)s); the help desk does not "
                    "send requests there. An administrator can allow it with NETGUARD_ALLOW."
                )
                % {"host": host, "ip": ip}
            )


def url_is_safe(url: str) -> bool:
    try:
        url_check(url)
    except UnsafeURL:
        return False
    return True


# --- Guarded connections -------------------------------------------------------------------------------


def guarded_create_connection(
    address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT, source_address: Any = None, **kwargs: Any
) -> socket.socket:
    """socket.create_connection that connects only to addresses the policy allows: the
    host is resolved here and each address checked right before connecting to it."""
    host, port = address
    networks, hosts = _allow_entries()
    host_allowed = _host_allowed(host, hosts)
    error: OSError | None = None
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for family, socktype, proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not host_allowed and not _address_allowed(ip, networks):
            error = UnsafeConnection(f"refused to connect to {host} ({ip}): not a public address")
            continue
        sock = socket.socket(family, socktype, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"no address found for {host}")


class UnsafeConnection(ConnectionRefusedError):
    """Raised instead of connecting to a refused address (an OSError, so callers that
    handle network failures handle this one too)."""


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(
            _GuardedHTTPSConnection, req, context=self._context, check_hostname=getattr(self, "_check_hostname", None)
        )


class _GuardedRedirectHandler(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        try:
            _split(newurl)
        except UnsafeURL as exc:
            raise urllib.error.URLError(str(exc)) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def guarded_opener() -> urllib.request.OpenerDirector:
    """An opener that only connects to allowed addresses, follows redirects only to http(s)
    and ignores proxy environment variables (a proxy would hide the real target)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _GuardedHTTPHandler, _GuardedHTTPSHandler, _GuardedRedirectHandler
    )


def guarded_urlopen(request: urllib.request.Request | str, *, timeout: float) -> Any:
    """urllib.request.urlopen through the guard: the same answers and exceptions, plus
    UnsafeConnection (wrapped in URLError) for a refused address."""
    return guarded_opener().open(request, timeout=timeout)
