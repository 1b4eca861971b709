"""Read ``Authentication-Results`` (RFC 8601) and say whether our own MTA authenticated a From:.

The desk trusts only results stamped by the company's MTA (its authserv-id, ``PD_AUTHSERV_ID``);
an MTA that stamps results removes headers claiming its own authserv-id from incoming mail
(RFC 8601 section 5), so any other one is a stranger's and is ignored. A sender is authenticated
when DMARC passed for its From: domain, or, with no DMARC result at all, when a DKIM signature of
a domain aligned with it passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_HEADER = 8192  # characters of one header read; a longer one is cut


@dataclass(frozen=True)
class Result:
    """One resinfo: ``method=result`` with its properties (``header.from``, ``header.d``...)."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Results:
    authserv_id: str
    results: tuple[Result, ...]


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s;=]+|=|;')


def _uncomment(value: str) -> str:
    """``value`` without its (nested) comments; quoted strings are kept whole."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for ch in value[:MAX_HEADER]:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            if ch == '"':
                quoted = False
            out.append(ch)
        elif ch == '"' and depth == 0:
            quoted = True
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            out.append(" ")
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def parse(value: str) -> Results | None:
    """One ``Authentication-Results`` header value, or None when it cannot be read."""
    tokens = _TOKEN.findall(_uncomment(value))
    if not tokens or tokens[0] in (";", "="):
        return None
    authserv_id = _unquote(tokens[0]).lower()
    groups: list[list[str]] = [[]]
    for token in tokens[1:]:
        if token == ";":
            groups.append([])
        else:
            groups[-1].append(token)
    results: list[Result] = []
    for group in groups[1:]:  # the first holds the optional version (or "none")
        pairs: list[tuple[str, str]] = []
        i = 0
        while i + 2 < len(group):
            if group[i + 1] == "=":
                pairs.append((group[i].lower(), _unquote(group[i + 2])))
                i += 3
            else:
                i += 1
        if not pairs:
            continue
        method, result = pairs[0]
        method = method.split("/", 1)[0]
        properties = {k: v for k, v in pairs[1:] if k != "reason"}
        results.append(Result(method, result.lower(), properties))
    return Results(authserv_id, tuple(results))


def _aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment, without a public-suffix list: the same domain, or one a subdomain
    of the other, never a bare top-level domain."""
    signer, domain = signer.lower().rstrip("."), domain.lower().rstrip(".")
    if "." not in signer or "." not in domain:
        return False
    return signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)


def authenticated(headers: Iterable[tuple[str, str]], authserv_id: str, from_domain: str) -> bool:
    """Whether results from ``authserv_id`` say DMARC passed for ``from_domain`` (or, with no
    DMARC result, an aligned DKIM signature passed); results of other ids are ignored."""
    wanted = authserv_id.strip().lower()
    domain = from_domain.strip().lower()
    if not wanted or not domain:
        return False
    ours: list[Result] = []
    for name, value in headers:
        if name.lower() != "authentication-results":
            continue
        parsed = parse(value)
        if parsed is not None and parsed.authserv_id == wanted:
            ours.extend(parsed.results)
    dmarc = [r for r in ours if r.method == "dmarc"]
    if dmarc:
        return any(
            r.result == "pass" and r.properties.get("header.from", domain).lower() == domain
            for r in dmarc
        )
    return any(
        r.method == "dkim"
        and r.result == "pass"
        and _aligned(r.properties.get("header.d", ""), domain)
        for r in ours
    )
