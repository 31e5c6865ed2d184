"""The cloud stand-ins answer and refuse as the real services do, seen from a plain HTTP client.

The product's keyless logins are tested against these servers, so each check here pins one part of
the real protocol: the grant, the token types, the audiences, the scopes, and the status, JSON
shape and error code of each refusal.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers.clouds import (
    ACCESS_TOKEN_TYPE,
    ACR_SCOPE,
    ACR_USERNAME,
    ARM_SCOPE,
    AZURE_AUDIENCE,
    CLOUD_PLATFORM,
    DOCKER_IDENTITY_AUDIENCE,
    ID_TOKEN_TYPE,
    JWT_BEARER,
    JWT_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    AcrFront,
    DockerIdentity,
    EntraId,
    GoogleCloud,
)
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import (
    AZURE_CLIENT,
    AZURE_TENANT,
    DOCKER_CONNECTION,
    DOCKER_ORGANISATION,
    GCP_SERVICE_ACCOUNT,
    AcrRegistry,
    PrivateRegistry,
    docker_config_for,
    pull_fresh,
)
from tests.servers.oidc import ISSUER, OidcIssuer

TIMEOUT = 10
OTHER_PROVIDER = "projects/1/locations/global/workloadIdentityPools/x/providers/y"


def forged(audience: str, subject: str = "repo:octo/app:ref:refs/heads/main", **claims: object) -> str:
    """A job-shaped token signed by a key no one trusts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    body = {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "exp": now + datetime.timedelta(minutes=5),
    }
    return jwt.encode({**body, **claims}, key, algorithm="RS256")


def expired(oidc: OidcIssuer, audience: str) -> str:
    """A token from the issuer itself, expired ten minutes ago."""
    then = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "sub": oidc.subject,
        "iat": then,
        "exp": then + datetime.timedelta(minutes=10),
    }
    return jwt.encode(claims, oidc.key, algorithm="RS256")


# --- Google -------------------------------------------------------------------------------------------


def sts_form(cloud: GoogleCloud, subject_token: str, **extra: str) -> dict[str, str]:
    """The form google-auth's identity-pool credentials post."""
    return {
        "grant_type": TOKEN_EXCHANGE,
        "audience": cloud.sts_audience,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "subject_token": subject_token,
        "subject_token_type": JWT_TOKEN_TYPE,
        "scope": CLOUD_PLATFORM,
        **extra,
    }


def sts(cloud: GoogleCloud, form: dict[str, str]) -> requests.Response:
    return requests.post(f"{cloud.url}/v1/token", data=form, timeout=TIMEOUT)


def generate(cloud: GoogleCloud, email: str, token: str | None, **body: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = body or {"scope": [CLOUD_PLATFORM], "lifetime": "3600s"}
    url = f"{cloud.url}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
    return requests.post(url, json=payload, headers=headers, timeout=TIMEOUT)


def test_google_exchange_then_impersonation(google_cloud: GoogleCloud, oidc: OidcIssuer) -> None:
    assert google_cloud.audience == "https://iam.googleapis.com/" + google_cloud.provider_name
    assert google_cloud.provider_name == (
        "projects/123456789012/locations/global/workloadIdentityPools/github/providers/bench"
    )
    answer = sts(google_cloud, sts_form(google_cloud, oidc.sign(google_cloud.audience)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "access_token": google_cloud.federated_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    impersonated = generate(google_cloud, GCP_SERVICE_ACCOUNT, google_cloud.federated_token)
    assert impersonated.status_code == 200, impersonated.text
    body = impersonated.json()
    assert body["accessToken"] == google_cloud.access_token
    expiry = datetime.datetime.strptime(body["expireTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert 3500 < (expiry - datetime.datetime.now(datetime.UTC)).total_seconds() <= 3600
    assert [r["path"] for r in google_cloud.requests] == [
        "/v1/token",
        f"/v1/projects/-/serviceAccounts/{GCP_SERVICE_ACCOUNT}:generateAccessToken",
    ]
    assert google_cloud.requests[0]["form"]["subject_token_type"] == JWT_TOKEN_TYPE
    assert google_cloud.requests[1]["json"]["scope"] == [CLOUD_PLATFORM]
    assert google_cloud.federated_subjects == [oidc.subject]


def test_google_sts_takes_json_and_id_token_type(google_cloud: GoogleCloud, oidc: OidcIssuer) -> None:
    form = sts_form(google_cloud, oidc.sign(google_cloud.audience), subject_token_type=ID_TOKEN_TYPE)
    camel = {"grantType": form.pop("grant_type"), "subjectToken": form.pop("subject_token"), **form}
    answer = requests.post(f"{google_cloud.url}/v1/token", json=camel, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] == google_cloud.federated_token


def test_google_sts_takes_the_iam_scope_google_auth_asks_before_impersonating(
    google_cloud: GoogleCloud, oidc: OidcIssuer
) -> None:
    form = sts_form(
        google_cloud, oidc.sign(google_cloud.audience), scope="https://www.googleapis.com/auth/iam"
    )
    assert sts(google_cloud, form).status_code == 200
    assert google_cloud.federated_scopes == [["https://www.googleapis.com/auth/iam"]]


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type", "grant_type"),
        ({"requested_token_type": JWT_TOKEN_TYPE}, "invalid_request", "requested_token_type"),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"},
            "invalid_request",
            "subject_token_type",
        ),
        (
            {"audience": "//iam.googleapis.com/" + OTHER_PROVIDER},
            "invalid_target",
            "pool or provider",
        ),
        ({"scope": "https://www.googleapis.com/auth/devstorage.read_only"}, "invalid_scope", CLOUD_PLATFORM),
    ],
)
def test_google_sts_refuses_a_malformed_exchange(
    google_cloud: GoogleCloud, oidc: OidcIssuer, change: dict[str, str], error: str, words: str
) -> None:
    answer = sts(google_cloud, {**sts_form(google_cloud, oidc.sign(google_cloud.audience)), **change})
    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert words in answer.json()["error_description"]
    assert google_cloud.federated_subjects == []


def test_google_sts_checks_the_job_token(google_cloud: GoogleCloud, oidc: OidcIssuer) -> None:
    wrong_audience = sts(google_cloud, sts_form(google_cloud, oidc.sign("sts.amazonaws.com")))
    assert wrong_audience.status_code == 400
    assert wrong_audience.json() == {
        "error": "invalid_grant",
        "error_description": "The audience in ID Token [sts.amazonaws.com] does not match the expected "
        f"audience {google_cloud.audience}.",
    }
    for token in (forged(google_cloud.audience), expired(oidc, google_cloud.audience), "not-a-jwt"):
        answer = sts(google_cloud, sts_form(google_cloud, token))
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
    assert google_cloud.federated_subjects == []


def test_google_attribute_condition(oidc: OidcIssuer) -> None:
    cloud = GoogleCloud(oidc, subjects={"repo:octo/other:ref:refs/heads/main"})
    try:
        answer = sts(cloud, sts_form(cloud, oidc.sign(cloud.audience)))
        assert answer.status_code == 400
        assert answer.json() == {
            "error": "unauthorized_client",
            "error_description": "The given credential is rejected by the attribute condition.",
        }
    finally:
        cloud.stop()


def test_google_iam_refuses(google_cloud: GoogleCloud, oidc: OidcIssuer) -> None:
    assert sts(google_cloud, sts_form(google_cloud, oidc.sign(google_cloud.audience))).status_code == 200
    missing = generate(google_cloud, GCP_SERVICE_ACCOUNT, None)
    assert missing.status_code == 401
    assert missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    wrong = generate(google_cloud, GCP_SERVICE_ACCOUNT, "ya29.someone-else")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["status"] == "UNAUTHENTICATED"
    denied = generate(
        google_cloud, "other@bench-project.iam.gserviceaccount.com", google_cloud.federated_token
    )
    assert denied.status_code == 403
    assert denied.json() == {
        "error": {
            "code": 403,
            "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
            "(or it may not exist).",
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iam.googleapis.com",
                    "metadata": {"permission": "iam.serviceAccounts.getAccessToken"},
                }
            ],
        }
    }
    no_scope = generate(google_cloud, GCP_SERVICE_ACCOUNT, google_cloud.federated_token, lifetime="3600s")
    assert no_scope.status_code == 400
    assert no_scope.json()["error"]["status"] == "INVALID_ARGUMENT"
    too_long = generate(
        google_cloud,
        GCP_SERVICE_ACCOUNT,
        google_cloud.federated_token,
        scope=[CLOUD_PLATFORM],
        lifetime="7200s",
    )
    assert too_long.status_code == 400


def test_gar_registries_take_only_their_token(
    google_cloud: GoogleCloud, gar_registry: PrivateRegistry, gar_sa_registry: PrivateRegistry
) -> None:
    def ping(registry: PrivateRegistry, password: str) -> int:
        url = f"{registry.registry.url}/v2/"
        return requests.get(url, auth=("oauth2accesstoken", password), timeout=TIMEOUT).status_code

    assert ping(gar_registry, google_cloud.federated_token) == 200
    assert ping(gar_registry, google_cloud.access_token) == 401
    assert ping(gar_sa_registry, google_cloud.access_token) == 200
    assert ping(gar_sa_registry, google_cloud.federated_token) == 401


# --- Entra ID -----------------------------------------------------------------------------------------


def entra_token(
    entra: EntraId, assertion: str, tenant: str = AZURE_TENANT, client: str = AZURE_CLIENT, **extra: str
) -> requests.Response:
    """What msal's acquire_token_for_client posts with a client assertion."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": ARM_SCOPE,
        **extra,
    }
    url = f"{entra.authority_host}/{tenant}/oauth2/v2.0/token"
    return requests.post(url, data=form, verify=str(entra.ca_bundle), timeout=TIMEOUT)


def test_entra_discovery(entra: EntraId) -> None:
    bundle = str(entra.ca_bundle)
    url = f"{entra.authority_host}/{AZURE_TENANT}/v2.0/.well-known/openid-configuration"
    config = requests.get(url, verify=bundle, timeout=TIMEOUT).json()
    base = f"{entra.authority_host}/{AZURE_TENANT}"
    assert config["issuer"] == f"{base}/v2.0"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    keys = requests.get(config["jwks_uri"], verify=bundle, timeout=TIMEOUT).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    instance = requests.get(
        f"{entra.authority_host}/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": config["authorization_endpoint"]},
        verify=bundle,
        timeout=TIMEOUT,
    ).json()
    assert instance["tenant_discovery_endpoint"] == url
    unknown = requests.get(
        f"{entra.authority_host}/nope/v2.0/.well-known/openid-configuration", verify=bundle, timeout=TIMEOUT
    )
    assert unknown.status_code == 400
    body = unknown.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'nope' not found.")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    assert entra.env() == {"AZURE_AUTHORITY_HOST": entra.authority_host, "REQUESTS_CA_BUNDLE": bundle}


def test_entra_serves_only_tls_trusted_through_its_bundle(entra: EntraId) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            f"{entra.authority_host}/{AZURE_TENANT}/v2.0/.well-known/openid-configuration", timeout=5
        )
    assert b"BEGIN CERTIFICATE" in entra.ca_bundle.read_bytes()
    assert entra.ca_bundle.read_bytes().count(b"BEGIN CERTIFICATE") > 10  # the public CAs too


@pytest.mark.parametrize(
    ("scope", "audience"),
    [(ARM_SCOPE, "https://management.azure.com/"), (ACR_SCOPE, "https://containerregistry.azure.net")],
)
def test_entra_client_credentials_with_the_job_token(
    entra: EntraId, oidc: OidcIssuer, scope: str, audience: str
) -> None:
    answer = entra_token(entra, oidc.sign(AZURE_AUDIENCE), scope=scope)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    claims = entra.verify_access_token(body["access_token"])
    assert claims["aud"] == audience
    assert claims["tid"] == AZURE_TENANT
    assert claims["appid"] == AZURE_CLIENT
    assert claims["exp"] > datetime.datetime.now(datetime.UTC).timestamp() + 3000
    assert entra.token_requests()[0]["form"]["scope"] == scope


def aadsts(answer: requests.Response) -> tuple[int, str, int]:
    body = answer.json()
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    return answer.status_code, body["error"], body["error_codes"][0]


def test_entra_refusals(entra: EntraId, oidc: OidcIssuer) -> None:
    good = oidc.sign(AZURE_AUDIENCE)
    assert aadsts(entra_token(entra, good, tenant="nope")) == (400, "invalid_tenant", 90002)
    assert aadsts(entra_token(entra, good, client="00000000-1111-2222-3333-444444444444")) == (
        400,
        "unauthorized_client",
        700016,
    )
    no_match = entra_token(entra, oidc.sign("api://SomethingElse"))
    assert aadsts(no_match) == (400, "invalid_request", 70021)
    assert "Assertion Audience: 'api://SomethingElse'" in no_match.json()["error_description"]
    assert (
        "Assertion Issuer: 'https://token.actions.githubusercontent.com'"
        in no_match.json()["error_description"]
    )
    assert aadsts(entra_token(entra, forged(AZURE_AUDIENCE))) == (401, "invalid_client", 700027)
    assert aadsts(entra_token(entra, expired(oidc, AZURE_AUDIENCE))) == (401, "invalid_client", 700024)
    assert aadsts(entra_token(entra, good, scope="https://management.azure.com")) == (
        400,
        "invalid_scope",
        1002012,
    )
    assert aadsts(entra_token(entra, good, scope="https://vault.azure.net/.default")) == (
        400,
        "invalid_resource",
        500011,
    )
    assert aadsts(entra_token(entra, good, grant_type="password")) == (400, "unsupported_grant_type", 70003)
    assert aadsts(entra_token(entra, "")) == (401, "invalid_client", 7000218)
    assert entra.issued == []


def test_entra_subject_must_be_federated(oidc: OidcIssuer, tmp_path: Path) -> None:
    service = EntraId(
        oidc, tmp_path, tenants={AZURE_TENANT: {AZURE_CLIENT: {"repo:octo/app:environment:prod"}}}
    )
    try:
        answer = entra_token(service, oidc.sign(AZURE_AUDIENCE))
        assert aadsts(answer) == (400, "invalid_request", 70021)
        assert f"Assertion Subject: '{oidc.subject}'" in answer.json()["error_description"]
    finally:
        service.stop()


# --- ACR ----------------------------------------------------------------------------------------------


def exchange(front: AcrFront, access_token: str, **extra: str) -> requests.Response:
    form = {
        "grant_type": "access_token",
        "service": front.server,
        "tenant": front.tenant,
        "access_token": access_token,
    }
    return requests.post(f"http://{front.server}/oauth2/exchange", data={**form, **extra}, timeout=TIMEOUT)


def acr_access_token(entra: EntraId, oidc: OidcIssuer, scope: str = ACR_SCOPE) -> str:
    answer = entra_token(entra, oidc.sign(AZURE_AUDIENCE), scope=scope)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_acr_exchange_and_registry(acr_registry: AcrRegistry, entra: EntraId, oidc: OidcIssuer) -> None:
    front = acr_registry.front
    for scope in (ACR_SCOPE, ARM_SCOPE):
        answer = exchange(front, acr_access_token(entra, oidc, scope))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"refresh_token": front.refresh_token}
    claims = jwt.decode(front.refresh_token, options={"verify_signature": False})
    assert claims["aud"] == front.server
    assert claims["tenant"] == AZURE_TENANT
    assert 10700 < claims["exp"] - datetime.datetime.now(datetime.UTC).timestamp() <= 10800

    v2 = f"http://{front.server}/v2/"
    assert requests.get(v2, auth=(ACR_USERNAME, front.refresh_token), timeout=TIMEOUT).status_code == 200
    anonymous = requests.get(v2, timeout=TIMEOUT)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == f'Bearer realm="{front.realm}",service="{front.server}"'
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert requests.get(v2, auth=(ACR_USERNAME, "guess"), timeout=TIMEOUT).status_code == 401
    assert requests.get(v2, auth=("backend", front.refresh_token), timeout=TIMEOUT).status_code == 401
    manifest = requests.get(
        f"http://{front.server}/v2/azure/app/manifests/1",
        auth=(ACR_USERNAME, front.refresh_token),
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=TIMEOUT,
    )
    assert manifest.status_code == 200
    assert manifest.headers["Docker-Content-Digest"].startswith("sha256:")
    layer = manifest.json()["layers"][0]
    blob = requests.get(
        f"http://{front.server}/v2/azure/app/blobs/{layer['digest']}",
        auth=(ACR_USERNAME, front.refresh_token),
        timeout=TIMEOUT,
        stream=True,
    )
    assert blob.status_code == 200
    assert sum(len(c) for c in blob.iter_content(65536)) == layer["size"]


def test_acr_exchange_refusals(
    acr_registry: AcrRegistry, entra: EntraId, oidc: OidcIssuer, tmp_path: Path
) -> None:
    front = acr_registry.front
    token = acr_access_token(entra, oidc)

    def refused(answer: requests.Response) -> tuple[int, str]:
        return answer.status_code, answer.json()["errors"][0]["code"]

    assert refused(exchange(front, token, service="other.azurecr.io")) == (400, "INVALID_REQUEST")
    assert refused(exchange(front, token, grant_type="password")) == (400, "UNSUPPORTED")
    assert refused(exchange(front, "not-a-token")) == (401, "UNAUTHORIZED")
    assert refused(exchange(front, token, tenant="99999999-2222-4333-8444-555555555555")) == (
        401,
        "UNAUTHORIZED",
    )
    other = EntraId(oidc, tmp_path, tenants={AZURE_TENANT: {AZURE_CLIENT: {oidc.subject}}})
    try:  # the same tenant's name on a token another authority signed
        assert refused(exchange(front, acr_access_token(other, oidc))) == (401, "UNAUTHORIZED")
    finally:
        other.stop()
    assert requests.get(f"http://{front.server}/oauth2/exchange", timeout=TIMEOUT).status_code == 404
    assert front.exchanges == []


def test_acr_bearer_challenge_and_token_endpoint(acr_registry: AcrRegistry) -> None:
    """What docker does with ACR's Bearer challenge: the refresh token for an access token per scope."""
    front = acr_registry.front
    manifest_url = f"http://{front.server}/v2/azure/app/manifests/1"
    challenge = requests.get(manifest_url, timeout=TIMEOUT).headers["WWW-Authenticate"]
    assert (
        challenge
        == f'Bearer realm="{front.realm}",service="{front.server}",scope="repository:azure/app:pull"'
    )
    query = {"service": front.server, "scope": "repository:azure/app:pull"}
    got = requests.get(front.realm, params=query, auth=(ACR_USERNAME, front.refresh_token), timeout=TIMEOUT)
    assert got.status_code == 200, got.text
    posted = requests.post(
        front.realm,
        data={"grant_type": "refresh_token", "refresh_token": front.refresh_token, **query},
        timeout=TIMEOUT,
    )
    assert posted.status_code == 200, posted.text
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    for token in (got.json()["access_token"], posted.json()["access_token"]):
        bearer = {"Authorization": f"Bearer {token}", **accept}
        assert requests.get(manifest_url, headers=bearer, timeout=TIMEOUT).status_code == 200
        other = f"http://{front.server}/v2/azure/other/manifests/1"
        assert requests.get(other, headers=bearer, timeout=TIMEOUT).status_code == 401
    assert front.access_tokens[0]["access"] == [
        {"type": "repository", "name": "azure/app", "actions": ["pull"]}
    ]
    refused = requests.get(front.realm, params=query, auth=(ACR_USERNAME, "guess"), timeout=TIMEOUT)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    wrong_service = requests.get(
        front.realm,
        params={**query, "service": "x.azurecr.io"},
        auth=(ACR_USERNAME, front.refresh_token),
        timeout=TIMEOUT,
    )
    assert wrong_service.status_code == 400
    forged_bearer = {"Authorization": f"Bearer {forged(front.server)}", **accept}
    assert requests.get(manifest_url, headers=forged_bearer, timeout=TIMEOUT).status_code == 401


def test_acr_refresh_token_expires(entra: EntraId, acr_registry: AcrRegistry) -> None:
    stale = AcrFront(entra, acr_registry.front.backend, tenant=AZURE_TENANT, refresh_token_lifetime=-60)
    try:
        v2 = f"http://{stale.server}/v2/"
        assert requests.get(v2, auth=(ACR_USERNAME, stale.refresh_token), timeout=TIMEOUT).status_code == 401
    finally:
        stale.stop()


def test_acr_docker_pull_through_the_front(
    acr_registry: AcrRegistry, dockerd: Dockerd, tmp_path: Path
) -> None:
    config = docker_config_for(tmp_path / "acr", {acr_registry.server: (ACR_USERNAME, acr_registry.password)})
    pulled = pull_fresh(dockerd, acr_registry.reference, config)
    assert pulled.returncode == 0, pulled.stderr
    # through ACR's Bearer challenge: the refresh token for an access token, then the registry
    paths = [(r["method"], r["path"], r.get("status")) for r in acr_registry.front.requests]
    assert ("GET", "/v2/", 401) in paths
    assert ("GET", "/oauth2/token", 200) in paths
    assert ("HEAD", "/v2/azure/app/manifests/1", 200) in paths
    refused = docker_config_for(tmp_path / "acr-bad", {acr_registry.server: (ACR_USERNAME, "expired")})
    assert pull_fresh(dockerd, acr_registry.reference, refused).returncode != 0


# --- Docker Hub -----------------------------------------------------------------------------------------


def identity(service: DockerIdentity, subject_token: str, **extra: str) -> requests.Response:
    """What docker/login-action's Docker Hub OIDC login posts."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token_type": ID_TOKEN_TYPE,
        "subject_token": subject_token,
        "connection_id": DOCKER_CONNECTION,
        "expires_in": "300",
        **extra,
    }
    return requests.post(f"{service.url}/oauth/token", data=form, timeout=TIMEOUT)


def test_docker_identity_exchange(
    docker_identity: DockerIdentity, oidc: OidcIssuer, hub_registry: PrivateRegistry
) -> None:
    answer = identity(docker_identity, oidc.sign(DOCKER_IDENTITY_AUDIENCE), expires_in="900")
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] == docker_identity.access_token
    assert answer.json()["expires_in"] == 900
    assert docker_identity.granted == [
        {
            "connection": DOCKER_CONNECTION,
            "organisation": DOCKER_ORGANISATION,
            "subject": oidc.subject,
            "expires_in": 900,
        }
    ]
    v2 = f"{hub_registry.registry.url}/v2/"
    good = requests.get(v2, auth=(DOCKER_ORGANISATION, docker_identity.access_token), timeout=TIMEOUT)
    assert good.status_code == 200
    assert requests.get(v2, auth=(DOCKER_ORGANISATION, "dckr_oat_guess"), timeout=TIMEOUT).status_code == 401


def test_docker_identity_refusals(docker_identity: DockerIdentity, oidc: OidcIssuer) -> None:
    good = oidc.sign(DOCKER_IDENTITY_AUDIENCE)
    cases = [
        identity(docker_identity, good, connection_id="00000000-0000-4000-8000-000000000000"),
        identity(docker_identity, good, connection_id="not-a-uuid"),
        identity(docker_identity, good, expires_in="299"),
        identity(docker_identity, good, expires_in="3601"),
        identity(docker_identity, good, subject_token_type=JWT_TOKEN_TYPE),
        identity(docker_identity, good, grant_type="client_credentials"),
        identity(docker_identity, oidc.sign("https://iam.googleapis.com/x")),
        identity(docker_identity, forged(DOCKER_IDENTITY_AUDIENCE)),
        identity(docker_identity, expired(oidc, DOCKER_IDENTITY_AUDIENCE)),
    ]
    for answer in cases:
        assert answer.status_code == 400, answer.text
        assert {"error", "error_description"} <= answer.json().keys()
    assert docker_identity.granted == []


def test_docker_identity_rate_limit(oidc: OidcIssuer) -> None:
    service = DockerIdentity(oidc, connections={DOCKER_CONNECTION: DOCKER_ORGANISATION}, rate_limit_first=1)
    try:
        limited = identity(service, oidc.sign(DOCKER_IDENTITY_AUDIENCE))
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "0"
        assert identity(service, oidc.sign(DOCKER_IDENTITY_AUDIENCE)).status_code == 200
    finally:
        service.stop()


def test_fail_first_answers_503(oidc: OidcIssuer) -> None:
    cloud = GoogleCloud(oidc, fail_first=1)
    try:
        form = sts_form(cloud, oidc.sign(cloud.audience))
        assert sts(cloud, form).status_code == 503
        assert sts(cloud, form).status_code == 200
    finally:
        cloud.stop()
