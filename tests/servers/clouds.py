"""Stand-ins for the cloud token services a keyless login talks to, which cannot run here.

Each is a loopback server that speaks the real service's protocol, checks what it is sent as the
real service does, and refuses with the real service's status, JSON shape and error words:

- `GoogleCloud`: Google's Security Token Service (`POST /v1/token`, RFC 8693 token exchange, as
  google-auth's identity-pool credentials send it) and IAM Credentials
  (`POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`), on one port. The job's token
  must be signed by the OIDC issuer stand-in, unexpired, issued by GitHub's issuer, for the
  provider's default allowed audience, with a `sub` the provider's attribute condition admits, and
  the scope cloud-platform (or iam, which google-auth asks for when it will impersonate); only
  subjects granted a service account may impersonate it.
- `EntraId`: the Microsoft identity platform v2.0 over HTTPS (msal refuses plain HTTP
  authorities): the tenant's OpenID configuration, instance discovery, the tenant's keys, and the
  token endpoint's client-credentials grant with the job's token as a federated client assertion
  (issuer GitHub's, audience `api://AzureADTokenExchange`, subject one of the app's federated
  credentials). It answers with access tokens it signs itself.
- `AcrFront`: an Azure Container Registry's `POST /oauth2/exchange` (Entra access token -> ACR
  refresh token) and `/oauth2/token` (refresh token -> access token, after the registry's Bearer
  challenge); every other request is relayed to a real Distribution registry, and only the
  null-GUID user with the unexpired refresh token it minted, or an access token it signed for that
  repository, gets through.
- `DockerIdentity`: Docker's identity service (`POST /oauth/token`, RFC 8693 token exchange) as
  docker/login-action's Docker Hub OIDC login calls it.

Error words are the ones the real services are seen to answer with in public reports; where no
such report was found (some Entra parameter errors, ACR's exchange refusals, Docker's answer
fields) the stand-in uses the OAuth RFCs' codes in the service's own JSON shape, and says so.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import re
import secrets
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import certifi
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from requests.structures import CaseInsensitiveDict

from tests.servers.distribution import Registry
from tests.servers.oidc import ISSUER, OidcIssuer
from tests.servers.replies import reply

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
AZURE_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ARM_SCOPE = "https://management.azure.com/.default"
ACR_SCOPE = "https://containerregistry.azure.net/.default"
# the resources Entra knows, by the resource part of a `.default` scope -> the `aud` it signs
AZURE_RESOURCES = {
    "https://management.azure.com": "https://management.azure.com/",
    "https://management.core.windows.net": "https://management.core.windows.net/",
    "https://containerregistry.azure.net": "https://containerregistry.azure.net",
}
ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
DOCKER_IDENTITY_AUDIENCE = "https://identity.docker.com"
JSON_UTF8 = "application/json; charset=utf-8"
MAX_BODY = 1 << 20  # a token request bigger than this is refused (413), as a front end would
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Refused(Exception):
    """A refusal the service answers: status, JSON body, extra headers."""

    def __init__(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _headers(handler: BaseHTTPRequestHandler) -> CaseInsensitiveDict[str]:
    """The request's headers, a repeated one joined with commas as HTTP allows."""
    joined: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for key, value in handler.headers.items():
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _QuietServer(ThreadingHTTPServer):
    """A client that refuses the bench CA (a test's on purpose) is no error of the stand-in's."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


_PLAIN_HTTP = b"Client sent an HTTP request to an HTTPS server.\n"


class _Service:
    """A loopback HTTP(S) server whose requests are recorded and handed to `_route`."""

    content_type = JSON_UTF8

    def __init__(self, tls: ssl.SSLContext | None = None, fail_first: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.settimeout(30)
                    self.request.do_handshake()
                super().setup()

            def log_message(self, *args: object) -> None:
                pass

            def handle_one_request(self) -> None:
                # A TLS hello to a plain-HTTP port gets what Go's HTTP servers answer (an HTTP 400), so
                # clients that try HTTPS first (BuildKit, docker) fall back to HTTP as they do with a
                # real plain-HTTP registry; Python's own answer to it has no status line at all.
                if not isinstance(self.request, ssl.SSLSocket):
                    try:
                        first = self.request.recv(1, socket.MSG_PEEK)
                    except OSError:
                        first = b""
                    if first == b"\x16":
                        self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\n" + _PLAIN_HTTP)
                        self.close_connection = True
                        return
                super().handle_one_request()

            def do_GET(self) -> None:
                service._dispatch(self)

            def do_POST(self) -> None:
                service._dispatch(self)

            def do_HEAD(self) -> None:
                service._dispatch(self)

            def do_PUT(self) -> None:
                service._dispatch(self)

            def do_PATCH(self) -> None:
                service._dispatch(self)

            def do_DELETE(self) -> None:
                service._dispatch(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            # the handshake happens in the request's thread, so a silent client stalls no one
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        if self._relays(handler):
            self._relay(handler)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            reply(handler, 413, {"error": "request_too_large"}, headers={"Connection": "close"})
            handler.close_connection = True
            return
        raw = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        record: dict[str, Any] = {
            "method": handler.command,
            "path": split.path,
            "target": handler.path,
            "query": {k: v[0] for k, v in parse_qs(split.query).items()},
            "headers": _headers(handler),
        }
        kind = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                record["json"] = json.loads(raw or b"null")
            except ValueError:
                record["json"] = None
                record["body"] = raw
        elif raw:
            record["form"] = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
        with self._lock:
            self.requests.append(record)
            failing = len(self.requests) <= self.fail_first
        try:
            if failing:
                raise self._unavailable()
            status, body, headers = self._route(handler.command, split.path, record)
        except Refused as refusal:
            status, body, headers = refusal.status, refusal.body, refusal.headers
        record["status"] = status
        reply(handler, status, body, headers=headers, content_type=self.content_type)

    def _relays(self, handler: BaseHTTPRequestHandler) -> bool:
        return False

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _unavailable(self) -> Refused:
        return Refused(503, {"error": "temporarily_unavailable"})

    def _route(self, method: str, path: str, request: dict[str, Any]) -> tuple[int, object, dict[str, str]]:
        raise NotImplementedError


def _job_claims(oidc: OidcIssuer, token: str) -> dict[str, Any]:
    """The job token's claims once its signature is checked (raises jwt errors); no other check."""
    claims: dict[str, Any] = jwt.decode(
        token,
        oidc.key.public_key(),
        algorithms=["RS256"],
        options={"verify_aud": False, "verify_exp": False, "verify_iss": False, "verify_nbf": False},
    )
    return claims


def _expired(claims: dict[str, Any], leeway: int = 0) -> bool:
    exp = claims.get("exp")
    return not isinstance(exp, int | float) or exp + leeway < _now().timestamp()


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [str(a) for a in aud] if isinstance(aud, list) else []


# --- Google Cloud: STS and IAM Credentials ----------------------------------------------------------


class GoogleCloud(_Service):
    """sts.googleapis.com and iamcredentials.googleapis.com on one loopback port (plain HTTP)."""

    def __init__(
        self,
        oidc: OidcIssuer,
        *,
        project_number: str = "123456789012",
        pool: str = "github",
        provider: str = "bench",
        subjects: set[str] | None = None,
        service_accounts: dict[str, set[str]] | None = None,
        federated_token: str = "",
        access_token: str = "",
        expires_in: int = 3600,
        fail_first: int = 0,
    ) -> None:
        self.oidc = oidc
        self.project_number = project_number
        self.pool = pool
        self.provider = provider
        self.subjects = subjects  # the provider's attribute condition (None: any `sub`)
        self.service_accounts = dict(service_accounts or {})
        self.federated_token = federated_token or "ya29.fed-" + secrets.token_urlsafe(24)
        self.access_token = access_token or "ya29.sa-" + secrets.token_urlsafe(24)
        self.expires_in = expires_in
        self.federated_subjects: list[str] = []  # the `sub` of each successful exchange, in order
        self.federated_scopes: list[list[str]] = []  # the scopes each successful exchange asked for
        super().__init__(fail_first=fail_first)

    @property
    def pool_name(self) -> str:
        return f"projects/{self.project_number}/locations/global/workloadIdentityPools/{self.pool}"

    @property
    def provider_name(self) -> str:
        return f"{self.pool_name}/providers/{self.provider}"

    @property
    def audience(self) -> str:
        """What google-github-actions/auth asks the job token for (the provider's default allowed one)."""
        return "https://iam.googleapis.com/" + self.provider_name

    @property
    def sts_audience(self) -> str:
        """The `audience` parameter of the exchange."""
        return "//iam.googleapis.com/" + self.provider_name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"REGISTRIES_GCP_STS_ENDPOINT": self.url, "REGISTRIES_GCP_IAM_ENDPOINT": self.url}

    def principal(self, subject: str) -> str:
        return f"principal://iam.googleapis.com/{self.pool_name}/subject/{subject}"

    def count(self, path_end: str) -> int:
        """How many requests were made to a path ending so (`/v1/token`, `:generateAccessToken`)."""
        return sum(1 for r in self.requests if r["path"].endswith(path_end))

    def _unavailable(self) -> Refused:
        return Refused(
            503,
            {
                "error": {
                    "code": 503,
                    "message": "The service is currently unavailable.",
                    "status": "UNAVAILABLE",
                }
            },
        )

    def _route(self, method: str, path: str, request: dict[str, Any]) -> tuple[int, object, dict[str, str]]:
        if path == "/v1/token" and method == "POST":
            return 200, self._exchange(request), {}
        match = re.fullmatch(r"/v1/projects/([^/]+)/serviceAccounts/([^/:]+):generateAccessToken", path)
        if match and method == "POST":
            return 200, self._generate(match.group(1), match.group(2), request), {}
        raise Refused(404, _google_error(404, "Method not found.", "NOT_FOUND"))

    def _exchange(self, request: dict[str, Any]) -> dict[str, object]:
        body = request.get("form")
        if body is None and isinstance(request.get("json"), dict):
            # Google's JSON takes the proto's names in lowerCamelCase or as they are
            body = {
                re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v
                for k, v in request["json"].items()
            }
        body = {str(k): str(v) for k, v in (body or {}).items()}
        if request["headers"].get("Authorization"):
            # google-auth never sends one; STS says so when it gets one
            raise Refused(
                400, _oauth_error("invalid_request", "The request must not carry an Authorization header.")
            )
        grant = body.get("grant_type", "")
        if grant != TOKEN_EXCHANGE:
            raise Refused(
                400, _oauth_error("unsupported_grant_type", f'Unsupported value for "grant_type": "{grant}".')
            )
        for name in ("audience", "subject_token", "subject_token_type", "requested_token_type"):
            if not body.get(name):
                raise Refused(400, _oauth_error("invalid_request", f'Missing required field "{name}".'))
        if body["requested_token_type"] != ACCESS_TOKEN_TYPE:
            raise Refused(
                400,
                _oauth_error(
                    "invalid_request",
                    f'Invalid value for "requested_token_type": "{body["requested_token_type"]}". '
                    f"Expected {ACCESS_TOKEN_TYPE}.",
                ),
            )
        if body["subject_token_type"] not in {JWT_TOKEN_TYPE, ID_TOKEN_TYPE}:
            raise Refused(
                400,
                _oauth_error(
                    "invalid_request",
                    f'Invalid value for "subject_token_type": "{body["subject_token_type"]}". '
                    f"Expected one of {JWT_TOKEN_TYPE}, {ID_TOKEN_TYPE}.",
                ),
            )
        if body["audience"] != self.sts_audience:
            raise Refused(
                400,
                _oauth_error(
                    "invalid_target",
                    'The target service indicated by the "audience" parameters is invalid. This might either '
                    "be because the pool or provider is disabled or deleted or because it doesn't exist.",
                ),
            )
        scopes = body.get("scope", "").split()
        if not {CLOUD_PLATFORM, IAM_SCOPE} & set(scopes):
            # google-auth asks for cloud-platform, or only iam when it will impersonate
            raise Refused(
                400,
                _oauth_error(
                    "invalid_scope",
                    f'The "scope" must include {CLOUD_PLATFORM} or {IAM_SCOPE} for this audience.',
                ),
            )
        try:
            claims = _job_claims(self.oidc, body["subject_token"])
        except jwt.PyJWTError:
            raise Refused(400, _oauth_error("invalid_grant", "Invalid JWT signature or format.")) from None
        if claims.get("iss") != ISSUER:
            raise Refused(
                400,
                _oauth_error(
                    "invalid_grant",
                    f"The issuer in ID Token {claims.get('iss')} does not match the expected ones: {ISSUER}.",
                ),
            )
        if self.audience not in _audiences(claims):
            raise Refused(
                400,
                _oauth_error(
                    "invalid_grant",
                    f"The audience in ID Token [{', '.join(_audiences(claims))}] does not match the expected "
                    f"audience {self.audience}.",
                ),
            )
        if _expired(claims):
            raise Refused(400, _oauth_error("invalid_grant", "ID Token expired."))
        subject = str(claims.get("sub", ""))
        if self.subjects is not None and subject not in self.subjects:
            raise Refused(
                400,
                _oauth_error(
                    "unauthorized_client", "The given credential is rejected by the attribute condition."
                ),
            )
        with self._lock:
            self.federated_subjects.append(subject)
            self.federated_scopes.append(scopes)
        return {
            "access_token": self.federated_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }

    def _generate(self, project: str, email: str, request: dict[str, Any]) -> dict[str, object]:
        method = "google.iam.credentials.v1.IAMCredentials.GenerateAccessToken"
        header = request["headers"].get("Authorization", "")
        if not header:
            raise Refused(
                401,
                _google_error(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 access token, "
                    "login cookie or other valid authentication credential. "
                    "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "UNAUTHENTICATED",
                    reason="CREDENTIALS_MISSING",
                    domain="googleapis.com",
                    metadata={"service": "iamcredentials.googleapis.com", "method": method},
                ),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if header != f"Bearer {self.federated_token}" or not self.federated_subjects:
            raise Refused(
                401,
                _google_error(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                    "cookie or other valid authentication credential. "
                    "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "UNAUTHENTICATED",
                    reason="ACCESS_TOKEN_TYPE_UNSUPPORTED",
                    domain="googleapis.com",
                    metadata={"service": "iamcredentials.googleapis.com", "method": method},
                ),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        body = request.get("json")
        if not isinstance(body, dict):
            raise Refused(400, _google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"))
        scope = body.get("scope")
        if not isinstance(scope, list) or not scope:
            raise Refused(400, _google_error(400, "Scope required.", "INVALID_ARGUMENT"))
        lifetime = body.get("lifetime", "3600s")
        match = re.fullmatch(r"(\d+)(?:\.\d+)?s", str(lifetime))
        if not match or not 1 <= int(match.group(1)) <= 3600:
            raise Refused(
                400,
                _google_error(
                    400,
                    f"The lifetime {lifetime} is not valid: it must be between 1s and 3600s.",
                    "INVALID_ARGUMENT",
                ),
            )
        if body.get("delegates"):
            raise Refused(
                400, _google_error(400, "Delegates are not supported by the bench.", "INVALID_ARGUMENT")
            )
        subject = self.federated_subjects[-1]
        if project != "-" or subject not in self.service_accounts.get(email, set()):
            raise Refused(
                403,
                _google_error(
                    403,
                    "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                    "(or it may not exist).",
                    "PERMISSION_DENIED",
                    reason="IAM_PERMISSION_DENIED",
                    domain="iam.googleapis.com",
                    metadata={"permission": "iam.serviceAccounts.getAccessToken"},
                ),
            )
        return {
            "accessToken": self.access_token,
            "expireTime": _rfc3339(_now() + datetime.timedelta(seconds=int(match.group(1)))),
        }


def _oauth_error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


def _google_error(
    code: int,
    message: str,
    status: str,
    *,
    reason: str = "",
    domain: str = "",
    metadata: dict[str, str] | None = None,
) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": domain,
                "metadata": metadata or {},
            }
        ]
    return {"error": error}


# --- Microsoft Entra ID -----------------------------------------------------------------------------


class BenchCA:
    """A certificate authority of the bench and one server certificate for 127.0.0.1 it signed."""

    def __init__(self, folder: Path, name: str = "bench-ca") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        now = _now()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(subject)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca_pem = folder / f"{name}.pem"
        self.ca_pem.write_bytes(self.cert.public_bytes(pem))
        self.server_cert = folder / f"{name}-server.crt"
        self.server_cert.write_bytes(server.public_bytes(pem))
        self.server_key = folder / f"{name}-server.key"
        self.server_key.write_bytes(
            server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        # what REQUESTS_CA_BUNDLE points at: the public CAs and this one
        self.bundle = folder / f"{name}-bundle.pem"
        self.bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + self.cert.public_bytes(pem))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


class EntraId(_Service):
    """login.microsoftonline.com on loopback HTTPS: tenants, their apps and federated credentials."""

    content_type = JSON_UTF8

    def __init__(
        self,
        oidc: OidcIssuer,
        tmp: Path,
        *,
        tenants: dict[str, dict[str, set[str]]],
        expires_in: int = 3599,
        fail_first: int = 0,
    ) -> None:
        self.oidc = oidc
        # tenant id -> client id -> the subjects of its federated credentials (issuer GitHub's,
        # audience api://AzureADTokenExchange)
        self.tenants = {t: {c: set(s) for c, s in apps.items()} for t, apps in tenants.items()}
        self.expires_in = expires_in
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.ca = BenchCA(tmp / f"entra-{secrets.token_hex(3)}", "bench-entra-ca")
        self.issued: list[dict[str, Any]] = []  # the claims of every access token it signed
        super().__init__(tls=self.ca.server_context(), fail_first=fail_first)

    @property
    def authority_host(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_bundle(self) -> Path:
        return self.ca.bundle

    def env(self) -> dict[str, str]:
        return {"AZURE_AUTHORITY_HOST": self.authority_host, "REQUESTS_CA_BUNDLE": str(self.ca_bundle)}

    def token_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/oauth2/v2.0/token")]

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of an access token this stand-in signed (signature and expiry checked)."""
        claims: dict[str, Any] = jwt.decode(
            token, self.key.public_key(), algorithms=["RS256"], options={"verify_aud": False}
        )
        return claims

    def _unavailable(self) -> Refused:
        return _entra_error(
            503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."
        )

    def _route(self, method: str, path: str, request: dict[str, Any]) -> tuple[int, object, dict[str, str]]:
        correlation = request["headers"].get("client-request-id", "")
        if method == "GET" and path == "/common/discovery/instance":
            return 200, self._instance_discovery(request), {}
        match = re.fullmatch(
            r"/([^/]+)(/v2\.0/\.well-known/openid-configuration|/discovery/v2\.0/keys"
            r"|/oauth2/v2\.0/token)",
            path,
        )
        if not match:
            raise Refused(404, {"error": "not_found", "error_description": "The endpoint is not known."})
        tenant, endpoint = match.groups()
        if tenant not in self.tenants:
            raise _entra_error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud. Check with your subscription administrator, this may "
                "happen if there are no active subscriptions for the tenant.",
                correlation,
                self.authority_host,
            )
        if endpoint.endswith("openid-configuration") and method == "GET":
            return 200, self._configuration(tenant), {}
        if endpoint.endswith("keys") and method == "GET":
            return 200, {"keys": [self._jwk()]}, {}
        if endpoint.endswith("token") and method == "POST":
            return (
                200,
                self._token(tenant, request.get("form") or {}, correlation),
                {"Cache-Control": "no-store, no-cache"},
            )
        raise _entra_error(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
            correlation,
            self.authority_host,
        )

    def _instance_discovery(self, request: dict[str, Any]) -> dict[str, object]:
        endpoint = request["query"].get("authorization_endpoint", "")
        tenant = urlsplit(endpoint).path.strip("/").split("/")[0] or "common"
        host = f"127.0.0.1:{self.port}"
        return {
            "tenant_discovery_endpoint": (
                f"{self.authority_host}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    def _configuration(self, tenant: str) -> dict[str, object]:
        base = f"{self.authority_host}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def _jwk(self) -> dict[str, object]:
        numbers = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            data = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        return {"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64(numbers.n), "e": b64(numbers.e)}

    def _token(self, tenant: str, form: dict[str, str], correlation: str) -> dict[str, object]:
        def refuse(status: int, error: str, code: int, text: str) -> Refused:
            return _entra_error(status, error, code, text, correlation, self.authority_host)

        for name in ("grant_type", "client_id"):
            if not form.get(name):
                raise refuse(
                    400,
                    "invalid_request",
                    900144,
                    f"The request body must contain the following parameter: '{name}'.",
                )
        if form["grant_type"] != "client_credentials":
            raise refuse(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form['grant_type']}'.",
            )
        client = form["client_id"]
        apps = self.tenants[tenant]
        if client not in apps:
            raise refuse(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client}' was not found in the directory '{tenant}'. "
                "This can happen if the application has not been installed by the administrator of the "
                "tenant or consented to by any user in the tenant. You may have sent your authentication "
                "request to the wrong tenant.",
            )
        if not form.get("client_assertion"):
            raise refuse(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if form.get("client_assertion_type") != JWT_BEARER:
            raise refuse(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        scope = form.get("scope", "")
        if not scope:
            raise refuse(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise refuse(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        resource = scopes[0].removesuffix("/.default").rstrip("/")
        if resource not in AZURE_RESOURCES:
            raise refuse(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named {tenant}. "
                "This can happen if the application has not been installed by the administrator of the "
                "tenant or consented to by any user in the tenant. You might have sent your "
                "authentication request to the wrong tenant.",
            )
        try:
            claims = _job_claims(self.oidc, form["client_assertion"])
        except jwt.PyJWTError:
            raise refuse(
                401, "invalid_client", 700027, "Client assertion failed signature validation."
            ) from None
        if _expired(claims):
            exp = claims.get("exp")
            expiry = (
                _rfc3339(datetime.datetime.fromtimestamp(exp, datetime.UTC))
                if isinstance(exp, int)
                else "none"
            )
            raise refuse(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range. Current time: "
                f"{_rfc3339(_now())}, expiry time of assertion {expiry}.",
            )
        issuer, subject, audiences = (
            str(claims.get("iss", "")),
            str(claims.get("sub", "")),
            _audiences(claims),
        )
        if issuer != ISSUER or AZURE_AUDIENCE not in audiences or subject not in apps[client]:
            raise refuse(
                400,
                "invalid_request",
                70021,
                "No matching federated identity record found for presented assertion. Assertion Issuer: "
                f"'{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{', '.join(audiences)}'. "
                "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation",
            )
        now = _now()
        token_claims: dict[str, Any] = {
            "aud": AZURE_RESOURCES[resource],
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.expires_in,
            "appid": client,
            "appidacr": "2",
            "idp": f"https://sts.windows.net/{tenant}/",
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{client}")),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{client}")),
            "tid": tenant,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        with self._lock:
            self.issued.append(token_claims)
        token = jwt.encode(
            token_claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )
        return {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": token,
        }


def _entra_error(
    status: int,
    error: str,
    code: int,
    text: str,
    correlation: str = "",
    host: str = "https://login.microsoftonline.com",
) -> Refused:
    trace, correlation = str(uuid.uuid4()), correlation or str(uuid.uuid4())
    stamp = _now().strftime("%Y-%m-%d %H:%M:%SZ")
    return Refused(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{host}/error?code={code}",
        },
    )


# --- Azure Container Registry -----------------------------------------------------------------------

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class AcrFront(_Service):
    """An "ACR" on loopback: its token endpoints here, the registry API relayed to a Distribution registry.

    - `POST /oauth2/exchange` (grant `access_token`): an Entra access token for this tenant, audience
      ARM or containerregistry, unexpired -> `{"refresh_token"}`, the one refresh token it minted.
    - `GET /oauth2/token` (Basic null GUID + refresh token, `service`, `scope`s) and
      `POST /oauth2/token` (grant `refresh_token`, or `password` with the null GUID) -> an ACR access
      token for the scopes asked, as the registry's Bearer challenge sends clients there.
    - everything else is relayed to the backend, streaming, when it carries Basic null GUID + the
      unexpired refresh token, or Bearer with an unexpired access token of this front whose access
      covers the repository and action; the front swaps it for the backend's own account (an
      htpasswd registry whose account stays internal). Anything else gets ACR's 401 with
      `Www-Authenticate: Bearer realm="http://FRONT/oauth2/token",service="FRONT"[,scope=...]`.
    """

    content_type = JSON_UTF8

    def __init__(
        self,
        entra: EntraId,
        backend: Registry,
        *,
        tenant: str,
        refresh_token_lifetime: int = 10800,
        access_token_lifetime: int = 4500,
        fail_first: int = 0,
    ) -> None:
        self.entra = entra
        self.backend = backend
        self.tenant = tenant
        self.access_token_lifetime = access_token_lifetime
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if not backend.users:
            raise ValueError("the ACR front needs an htpasswd backend (users=...)")
        self._backend_user, self._backend_password = next(iter(backend.users.items()))
        self.exchanges: list[dict[str, Any]] = []  # the Entra claims of each accepted exchange
        self.access_tokens: list[dict[str, Any]] = []  # the claims of each ACR access token it signed
        self.relayed = 0
        super().__init__(fail_first=fail_first)
        now = int(_now().timestamp())
        self.refresh_token_exp = now + refresh_token_lifetime
        self.refresh_token = jwt.encode(
            {
                "jti": str(uuid.uuid4()),
                "sub": ACR_USERNAME,
                "nbf": now,
                "exp": self.refresh_token_exp,
                "iat": now,
                "iss": "Azure Container Registry",
                "aud": self.server,
                "version": "1.0",
                "grant_type": "refresh_token",
                "tenant": tenant,
                "permissions": {"actions": ["*"], "notActions": []},
                "roles": [],
            },
            self.key,
            algorithm="RS256",
        )

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        return f"http://{self.server}/oauth2/token"

    def _unavailable(self) -> Refused:
        return Refused(503, {"errors": [{"code": "UNAVAILABLE", "message": "service unavailable"}]})

    def _relays(self, handler: BaseHTTPRequestHandler) -> bool:
        return urlsplit(handler.path).path not in {"/oauth2/exchange", "/oauth2/token"}

    def _route(self, method: str, path: str, request: dict[str, Any]) -> tuple[int, object, dict[str, str]]:
        if path == "/oauth2/token":
            return 200, self._token(method, request), {}
        if method != "POST":
            # ACR answers 404 to anything but POST there (Azure/acr issue 166)
            raise Refused(404, _acr_errors("NOT_FOUND", "not found"))
        form = request.get("form") or {}
        grant = form.get("grant_type", "")
        if grant != "access_token":
            raise Refused(400, _acr_errors("UNSUPPORTED", f"unsupported grant_type '{grant}'"))
        if form.get("service") != self.server:
            message = f"service '{form.get('service', '')}' is not this registry"
            raise Refused(400, _acr_errors("INVALID_REQUEST", message))
        token = form.get("access_token", "")
        if not token:
            raise _acr_unauthorized("access_token is required")
        try:
            claims = self.entra.verify_access_token(token)
        except jwt.ExpiredSignatureError:
            raise _acr_unauthorized("the access token has expired") from None
        except jwt.PyJWTError:
            raise _acr_unauthorized("the access token is not valid") from None
        if form.get("tenant") and form["tenant"] != claims.get("tid"):
            raise _acr_unauthorized(f"the access token was not issued for tenant '{form['tenant']}'")
        if claims.get("tid") != self.tenant:
            raise _acr_unauthorized(f"the registry does not trust tenant '{claims.get('tid')}'")
        audience = str(claims.get("aud", "")).rstrip("/")
        if audience not in {"https://management.azure.com", "https://containerregistry.azure.net"}:
            raise _acr_unauthorized(f"the access token's audience '{claims.get('aud')}' is not accepted")
        with self._lock:
            self.exchanges.append(claims)
        return 200, {"refresh_token": self.refresh_token}, {}

    def _token(self, method: str, request: dict[str, Any]) -> dict[str, str]:
        """ACR's OAuth2 token endpoint: the refresh token (Basic password or form field) -> access token."""
        if method == "GET":
            query = parse_qs(urlsplit(request["target"]).query)
            service = query.get("service", [""])[0]
            scopes = [s for value in query.get("scope", []) for s in value.split()]
            user, password = _basic(request["headers"].get("Authorization", ""))
        elif method == "POST":
            form = request.get("form") or {}
            service, scopes = form.get("service", ""), form.get("scope", "").split()
            grant = form.get("grant_type", "")
            if grant == "refresh_token":
                user, password = ACR_USERNAME, form.get("refresh_token", "")
            elif grant == "password":
                user, password = form.get("username", ""), form.get("password", "")
            else:
                raise Refused(400, _acr_errors("UNSUPPORTED", f"unsupported grant_type '{grant}'"))
        else:
            raise Refused(404, _acr_errors("NOT_FOUND", "not found"))
        if service != self.server:
            raise Refused(400, _acr_errors("INVALID_REQUEST", f"service '{service}' is not this registry"))
        if not self._refresh_token_valid(user, password):
            raise _acr_unauthorized(
                "authentication required, visit https://aka.ms/acr/authorization for more information."
            )
        now = int(_now().timestamp())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind in {"repository", "registry"} and name:
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": ACR_USERNAME,
            "nbf": now,
            "exp": now + self.access_token_lifetime,
            "iat": now,
            "iss": "Azure Container Registry",
            "aud": self.server,
            "version": "1.0",
            "access": access,
            "roles": [],
            "grant_type": "refresh_token",
            "tenant": self.tenant,
        }
        with self._lock:
            self.access_tokens.append(claims)
        return {"access_token": jwt.encode(claims, self.key, algorithm="RS256")}

    def _refresh_token_valid(self, user: str, password: str) -> bool:
        return (
            user == ACR_USERNAME
            and secrets.compare_digest(password.encode(), self.refresh_token.encode())
            and self.refresh_token_exp >= _now().timestamp()
        )

    def _admits(self, header: str, method: str, path: str) -> bool:
        """Whether the Authorization lets this request through to the registry."""
        if header.startswith("Basic "):
            return self._refresh_token_valid(*_basic(header))
        if not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(header[7:], self.key.public_key(), algorithms=["RS256"], audience=self.server)
        except jwt.PyJWTError:
            return False
        repository = _repository_of(path)
        if repository is None:
            return True  # /v2/ itself: any valid token
        needed = "pull" if method in {"GET", "HEAD"} else "push"
        return any(
            entry.get("type") == "repository"
            and entry.get("name") == repository
            and ({needed, "*"} & set(entry.get("actions", [])))
            for entry in claims.get("access", [])
        )

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        record: dict[str, Any] = {
            "method": handler.command,
            "path": path,
            "target": handler.path,
            "headers": _headers(handler),
        }
        with self._lock:
            self.relayed += 1
            self.requests.append(record)
        if not self._admits(handler.headers.get("Authorization", ""), handler.command, path):
            _drain(handler)
            challenge = f'Bearer realm="{self.realm}",service="{self.server}"'
            repository = _repository_of(path)
            if repository is not None:
                actions = "pull" if handler.command in {"GET", "HEAD"} else "pull,push"
                challenge += f',scope="repository:{repository}:{actions}"'
            body = _acr_errors(
                "UNAUTHORIZED",
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
            )
            record["status"] = 401
            reply(handler, 401, body, headers={"Www-Authenticate": challenge}, content_type=JSON_UTF8)
            return
        # a list, not a dict: clients repeat headers (docker sends one Accept per media type)
        dropped = HOP_BY_HOP | {"authorization"}
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() not in dropped]
        pair = f"{self._backend_user}:{self._backend_password}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode()))
        upstream = http.client.HTTPConnection(self.backend.host, self.backend.port, timeout=120)
        chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        length = int(handler.headers.get("Content-Length") or 0)
        upstream.putrequest(handler.command, handler.path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers:
            upstream.putheader(key, value)
        if chunked:
            upstream.putheader("Transfer-Encoding", "chunked")
        elif length or handler.command in {"POST", "PUT", "PATCH"}:
            upstream.putheader("Content-Length", str(length))
        upstream.endheaders()
        if chunked:
            for chunk in _read_chunks(handler):
                upstream.send(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            upstream.send(b"0\r\n\r\n")
        else:
            _copy(handler.rfile.read, upstream.send, length)
        answer = upstream.getresponse()
        record["status"] = answer.status
        handler.send_response(answer.status, answer.reason)
        out_length = answer.getheader("Content-Length")
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP | {"date", "server"}:
                handler.send_header(key, value)
        if handler.command == "HEAD" or answer.status in {204, 304}:
            if out_length is not None:
                handler.send_header("Content-Length", out_length)
            handler.end_headers()
        elif out_length is not None:
            handler.send_header("Content-Length", out_length)
            handler.end_headers()
            _copy(answer.read, handler.wfile.write, int(out_length))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            while chunk := answer.read(65536):
                handler.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
        upstream.close()


def _acr_errors(code: str, message: str) -> dict[str, object]:
    return {"errors": [{"code": code, "message": message}]}


def _acr_unauthorized(message: str) -> Refused:
    return Refused(401, _acr_errors("UNAUTHORIZED", message))


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def _repository_of(path: str) -> str | None:
    """The repository a registry API path names (None for /v2/ and the catalog)."""
    match = re.fullmatch(r"/v2/(.+)/(manifests|blobs|tags)/.*", path)
    return match.group(1).removesuffix("/blobs/uploads") if match else None


def _drain(handler: BaseHTTPRequestHandler) -> None:
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        for _ in _read_chunks(handler):
            pass
    else:
        _copy(handler.rfile.read, lambda _: None, int(handler.headers.get("Content-Length") or 0))


def _copy(read: Callable[[int], bytes], write: Callable[[bytes], object], length: int) -> None:
    while length > 0:
        chunk = read(min(length, 65536))
        if not chunk:
            break
        write(chunk)
        length -= len(chunk)


def _read_chunks(handler: BaseHTTPRequestHandler) -> Any:
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in {b"\r\n", b"\n", b""}:
                pass
            return
        yield handler.rfile.read(size)
        handler.rfile.readline()


# --- Docker's identity service ----------------------------------------------------------------------


class DockerIdentity(_Service):
    """identity.docker.com on loopback: OIDC connections of organisations, RFC 8693 token exchange."""

    content_type = "application/json"

    def __init__(
        self,
        oidc: OidcIssuer,
        *,
        connections: dict[str, str],
        access_token: str = "",
        subjects: set[str] | None = None,
        rate_limit_first: int = 0,
        fail_first: int = 0,
    ) -> None:
        self.oidc = oidc
        self.connections = dict(connections)  # connection id (uuid) -> organisation
        self.subjects = subjects  # the `sub`s the connections admit (None: any)
        self.access_token = access_token or "dckr_oat_" + secrets.token_urlsafe(24)
        self.rate_limit_first = rate_limit_first
        self.granted: list[dict[str, Any]] = []  # connection, organisation, subject, expires_in
        super().__init__(fail_first=fail_first)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"REGISTRIES_DOCKER_IDENTITY_ENDPOINT": self.url}

    def _unavailable(self) -> Refused:
        return Refused(503, {"error": "temporarily_unavailable", "error_description": "try again later"})

    def _route(self, method: str, path: str, request: dict[str, Any]) -> tuple[int, object, dict[str, str]]:
        if path != "/oauth/token" or method != "POST":
            raise Refused(404, {"error": "not_found", "error_description": "not found"})
        with self._lock:
            limited = sum(1 for r in self.requests if r["path"] == "/oauth/token") <= self.rate_limit_first
        if limited:
            raise Refused(
                429, {"error": "rate_limited", "error_description": "slow down"}, {"Retry-After": "0"}
            )
        form = request.get("form") or {}

        def invalid(error: str, description: str) -> Refused:
            return Refused(
                400,
                {"error": error, "error_description": description, "error_uri": "https://docs.docker.com"},
            )

        if form.get("grant_type") != TOKEN_EXCHANGE:
            raise invalid("unsupported_grant_type", f"grant_type must be {TOKEN_EXCHANGE}")
        if form.get("subject_token_type") != ID_TOKEN_TYPE:
            raise invalid("invalid_request", f"subject_token_type must be {ID_TOKEN_TYPE}")
        connection = form.get("connection_id", "")
        if not UUID.match(connection) or connection not in self.connections:
            raise invalid("invalid_request", "unknown connection_id")
        try:
            expires_in = int(form.get("expires_in", "300"))
        except ValueError:
            raise invalid("invalid_request", "expires_in must be a number of seconds") from None
        if not 300 <= expires_in <= 3600:
            raise invalid("invalid_request", "expires_in must be between 300 and 3600")
        try:
            claims = _job_claims(self.oidc, form.get("subject_token", ""))
        except jwt.PyJWTError:
            raise invalid("invalid_request", "subject_token signature is not valid") from None
        if claims.get("iss") != ISSUER:
            raise invalid("invalid_request", "subject_token issuer is not trusted by the connection")
        if DOCKER_IDENTITY_AUDIENCE not in _audiences(claims):
            raise invalid("invalid_request", f"subject_token audience must be {DOCKER_IDENTITY_AUDIENCE}")
        if _expired(claims):
            raise invalid("invalid_request", "subject_token has expired")
        subject = str(claims.get("sub", ""))
        if self.subjects is not None and subject not in self.subjects:
            raise invalid("invalid_grant", "subject_token subject is not allowed by the connection")
        with self._lock:
            self.granted.append(
                {
                    "connection": connection,
                    "organisation": self.connections[connection],
                    "subject": subject,
                    "expires_in": expires_in,
                }
            )
        # docker/login-action reads only access_token; the rest is RFC 8693's answer
        return (
            200,
            {
                "access_token": self.access_token,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": expires_in,
            },
            {},
        )
