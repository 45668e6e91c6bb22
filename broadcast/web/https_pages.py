"""The station CA certificate (/ca.crt) and how to install it on a phone (/https): public, no login.

Browsers give the microphone (live broadcast, recording a bulletin) only to a secure origin; a phone on
the commune LAN reaches the station's own HTTPS once it trusts the station's CA (broadcast/http/https.py).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from broadcast.http.deps import OptionalUserDep, StationDep
from broadcast.http.https import fingerprint, https_base, station_ca_pem
from broadcast.web.pages import page

router = APIRouter(include_in_schema=False)
CA_FILE_NAME = "loa-xa-ca.crt"


@router.get("/ca.crt")
def ca_certificate(station: StationDep) -> Response:
    """Send the station CA certificate (public) for an officer to install on a phone."""
    pem = station_ca_pem(station.settings.web)
    if pem is None:
        raise HTTPException(404, detail="Trạm dùng chứng chỉ của đơn vị vận hành: không cần cài gì thêm.")
    return Response(
        pem,
        media_type="application/x-x509-ca-cert",
        headers={"Content-Disposition": f'attachment; filename="{CA_FILE_NAME}"'},
    )


@router.get("/https", response_class=HTMLResponse)
def https_help(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    """Say, in Vietnamese, how to open the station over HTTPS from a phone (Android, iPhone)."""
    web = station.settings.web
    pem = station_ca_pem(web)
    host = (request.url.hostname or "127.0.0.1").strip("[]")
    return page(
        request,
        station,
        user,
        "https_help.html",
        https_home=f"{https_base(web.https_port, host)}/" if web.https_port else None,
        on_https=request.url.scheme == "https",
        own_ca=pem is not None,
        ca_fingerprint=fingerprint(pem) if pem else "",
        ca_file=CA_FILE_NAME,
    )
