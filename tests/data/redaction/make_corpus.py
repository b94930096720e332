"""Writes the redaction corpus: synthetic, format-valid credentials in the contexts agents
produce, and look-alikes that must come through unchanged.

Run from the repository root: ``python tests/data/redaction/make_corpus.py``. The output is
deterministic (a fixed seed); ``tests/test_redact.py`` checks that the committed files are what
this script writes. Every credential here is random and fake.

Each line of ``positives.jsonl``: ``family`` (the credential family), ``context`` (where it sits:
bare, sentence, tool_args, headers, url, env, traceback, yaml, ...), ``value`` (the field value to
record: a string or a JSON object) and ``secret`` (the text that must not survive redaction).
Each line of ``lookalikes.jsonl``: ``family`` (what it resembles), ``value``.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B64URL = string.ascii_letters + string.digits + "-_"
B64 = string.ascii_letters + string.digits + "+/"
UPPER32 = string.ascii_uppercase + "234567"
HEX = "0123456789abcdef"


class Gen:
    """Random pieces of credentials, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def b62_checksum(self, body: str) -> str:
        n = zlib.crc32(body.encode())
        out = ""
        while n:
            n, r = divmod(n, 62)
            out = B62[r] + out
        return out.rjust(6, "0")

    def password(self) -> str:
        words = ["Tr0ub4dor", "c0rrect", "Zebra", "m00nlight", "Quartz", "s1lver"]
        return self.rng.choice(words) + self.pick(string.digits, 3) + self.rng.choice("!#%&*+")

    def jwt(self) -> str:
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
        claims = {
            "sub": self.pick(string.digits, 10),
            "iat": 1700000000 + self.rng.randrange(10**6),
        }
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{payload}.{self.pick(B64URL, 43)}"

    def pem(self, label: str) -> str:
        body = "\n".join(self.pick(B64, 64) for _ in range(6))
        return f"-----BEGIN {label}-----\n{body}\n{self.pick(B64, 20)}==\n-----END {label}-----"


# family -> secret maker
TOKENS: dict[str, Callable[[Gen], str]] = {
    "openai_key": lambda g: g.rng.choice(
        [
            "sk-proj-" + g.pick(B64URL, 20) + "T3BlbkFJ" + g.pick(B64URL, 20),
            "sk-" + g.pick(B62, 20) + "T3BlbkFJ" + g.pick(B62, 20),
            "sk-svcacct-" + g.pick(B64URL, 60),
        ]
    ),
    "anthropic_key": lambda g: "sk-ant-api03-" + g.pick(B64URL, 93) + "AA",
    "stripe_key": lambda g: g.rng.choice(["sk_live_", "rk_live_"]) + g.pick(B62, 24),
    "stripe_webhook_secret": lambda g: "whsec_" + g.pick(B62, 32),
    "huggingface_token": lambda g: "hf_" + g.pick(string.ascii_letters, 34),
    "groq_key": lambda g: "gsk_" + g.pick(B62, 52),
    "xai_key": lambda g: "xai-" + g.pick(B62, 80),
    "sendgrid_key": lambda g: "SG." + g.pick(B64URL, 22) + "." + g.pick(B64URL, 43),
    "npm_token": lambda g: (lambda b: "npm_" + b + g.b62_checksum(b))(g.pick(B62, 30)),
    "pypi_token": lambda g: "pypi-AgEIcHlwaS5vcmc" + g.pick(B64URL, 70),
    "google_oauth_token": lambda g: "ya29." + g.pick(B64URL, 120),
    "slack_token": lambda g: g.rng.choice(
        [
            "xoxb-"
            + g.pick(string.digits, 12)
            + "-"
            + g.pick(string.digits, 13)
            + "-"
            + g.pick(B62, 24),
            "xapp-1-A"
            + g.pick(UPPER32, 10)
            + "-"
            + g.pick(string.digits, 13)
            + "-"
            + g.pick(HEX, 64),
        ]
    ),
    "github_token": lambda g: g.rng.choice(
        [
            (
                lambda b: (
                    g.rng.choice(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + b + g.b62_checksum(b)
                )
            )(g.pick(B62, 30)),
            "github_pat_" + g.pick(B62, 22) + "_" + g.pick(B62, 59),
        ]
    ),
    "gitlab_token": lambda g: "glpat-" + g.pick(B64URL, 20),
    "aws_access_key_id": lambda g: g.rng.choice(["AKIA", "ASIA"]) + g.pick(UPPER32, 16),
    "google_api_key": lambda g: "AIza" + g.pick(B64URL, 35),
    "jwt": lambda g: g.jwt(),
}

# Where a token sits. {s} is the token.
TOKEN_CONTEXTS: dict[str, Callable[[str], Any]] = {
    "bare": lambda s: s,
    "sentence": lambda s: f"I found the credential {s} in the old deploy script, please rotate it.",
    "tool_args": lambda s: {
        "name": "http_request",
        "arguments": json.dumps({"url": "https://api.example.com/v1/run", "token": s}),
    },
    "headers": lambda s: {"method": "GET", "headers": {"Authorization": f"Bearer {s}"}},
    "url": lambda s: f"GET https://api.example.com/v1/items?access_token={s}&limit=10",
    "env": lambda s: (
        f"# service settings\nSERVICE_URL=https://api.example.com\nSERVICE_TOKEN={s}\n"
    ),
    "traceback": lambda s: (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/client.py", line 41, in call\n'
        f'    resp = session.post(url, headers={{"Authorization": "Bearer {s}"}})\n'
        f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for key {s}"
    ),
}

# Key-named secrets: family -> (secret maker, contexts {context: value maker}).
KEYED: dict[str, tuple[Callable[[Gen], str], dict[str, Callable[[str], Any]]]] = {
    "password": (
        lambda g: g.password(),
        {
            "env": lambda s: f"DB_HOST=db.internal\nDB_PASSWORD={s}\n",
            "json": lambda s: {"user": "admin", "password": s},
            "tool_args": lambda s: {
                "name": "db_connect",
                "arguments": json.dumps({"host": "db", "user": "app", "password": s}),
            },
            "yaml": lambda s: f"database:\n  user: app\n  password: {s}\n",
            "traceback": lambda s: (
                "Traceback (most recent call last):\n"
                '  File "db.py", line 9, in connect\n'
                f'    conn = connect(user="app", password="{s}")\n'
                "OperationalError: authentication failed"
            ),
            "sentence": lambda s: f"Log in with password={s} and change it afterwards.",
            "python_repr": lambda s: f"{{'user': 'app', 'password': '{s}'}}",
        },
    ),
    "url_password": (
        lambda g: g.password().replace("#", "x").replace("%", "y").replace("&", "z"),
        {
            "postgres": lambda s: f"DATABASE_URL=postgres://app:{s}@db.internal:5432/prod",
            "mysql": lambda s: f"connecting to mysql://root:{s}@10.0.0.5/shop failed",
            "mongodb": lambda s: {"uri": f"mongodb+srv://svc:{s}@cluster0.example.net/db"},
            "redis": lambda s: f"REDIS_URL=redis://default:{s}@cache:6379/0",
            "https": lambda s: f"git clone https://deploy:{s}@git.example.com/org/repo.git",
            "tool_args": lambda s: {
                "name": "fetch",
                "arguments": json.dumps({"url": f"https://bot:{s}@api.example.com/x"}),
            },
        },
    ),
    "aws_secret_access_key": (
        lambda g: g.pick(B64, 40),
        {
            "env": lambda s: f"AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEYID0000\nAWS_SECRET_ACCESS_KEY={s}\n",
            "ini": lambda s: f"[default]\naws_secret_access_key = {s}\nregion = eu-west-1\n",
            "json": lambda s: {"Credentials": {"SecretAccessKey": s, "Expiration": "2026-01-01"}},
            "tool_args": lambda s: {
                "name": "aws",
                "arguments": json.dumps({"aws_secret_access_key": s, "region": "eu-west-1"}),
            },
        },
    ),
    "aws_session_token": (
        lambda g: "IQoJb3JpZ2luX2VjE" + g.pick(B64, 200),
        {
            "env": lambda s: f"AWS_SESSION_TOKEN={s}\n",
            "json": lambda s: {"Credentials": {"SessionToken": s}},
            "url": lambda s: (
                f"https://bucket.s3.amazonaws.com/a.txt?X-Amz-Security-Token={s}&X-Amz-Expires=60"
            ),
        },
    ),
    "azure_storage_key": (
        lambda g: g.pick(B64, 86) + "==",
        {
            "connection_string": lambda s: (
                "DefaultEndpointsProtocol=https;AccountName=acme;"
                f"AccountKey={s};EndpointSuffix=core.windows.net"
            ),
            "env": lambda s: f"AZURE_STORAGE_KEY={s}\n",
            "json": lambda s: {"storage": {"accountKey": s}},
        },
    ),
    "azure_service_bus": (
        lambda g: g.pick(B64, 43) + "=",
        {
            "connection_string": lambda s: (
                "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
                f"SharedAccessKey={s}"
            ),
        },
    ),
    "azure_sas": (
        lambda g: g.pick(B64, 43) + "%3D",
        {
            "url": lambda s: (
                "https://acme.blob.core.windows.net/c/report.pdf?sv=2022-11-02&ss=b&srt=o"
                f"&sp=r&se=2026-01-01T00:00:00Z&sig={s}"
            ),
        },
    ),
    "azure_openai_key": (
        lambda g: g.pick(HEX, 32),
        {
            "headers": lambda s: {"headers": {"api-key": s, "Content-Type": "application/json"}},
            "env": lambda s: (
                f"AZURE_OPENAI_API_KEY={s}\nAZURE_OPENAI_ENDPOINT=https://acme.openai.azure.com\n"
            ),
            "curl": lambda s: (
                f"curl https://acme.openai.azure.com/openai/deployments -H 'api-key: {s}'"
            ),
        },
    ),
    "header_api_key": (
        lambda g: g.pick(B62, 40),
        {
            "x-api-key": lambda s: {"headers": {"x-api-key": s}},
            "PRIVATE-TOKEN": lambda s: {"headers": {"PRIVATE-TOKEN": s}},
            "Ocp-Apim-Subscription-Key": lambda s: {"headers": {"Ocp-Apim-Subscription-Key": s}},
            "curl": lambda s: f'curl -H "X-Api-Key: {s}" https://api.example.com/v2/data',
            "tool_args": lambda s: {
                "name": "http_request",
                "arguments": json.dumps({"headers": {"x-api-key": s}, "method": "GET"}),
            },
            "http_dump": lambda s: (
                f"GET /v2/data HTTP/1.1\r\nHost: api.example.com\r\nX-API-Key: {s}\r\n\r\n"
            ),
        },
    ),
    "authorization": (
        lambda g: g.rng.choice(
            [
                "Basic " + base64.b64encode(f"admin:{g.password()}".encode()).decode(),
                "Token " + g.pick(HEX, 40),
                "Bearer " + g.pick(B64URL, 40),
            ]
        ),
        {
            "headers": lambda s: {"headers": {"Authorization": s}},
            "tool_args": lambda s: {
                "name": "http_request",
                "arguments": json.dumps({"headers": {"Authorization": s}}),
            },
            "curl": lambda s: f"curl -H 'Authorization: {s}' https://api.example.com/me",
            "http_dump": lambda s: f"POST /login HTTP/1.1\r\nAuthorization: {s}\r\nAccept: */*\r\n",
        },
    ),
    "cookie": (
        lambda g: g.pick(B62, 32),
        {
            "headers": lambda s: {"headers": {"Cookie": f"sessionid={s}; theme=dark"}},
            "set_cookie": lambda s: f"Set-Cookie: sid={s}; Path=/; HttpOnly; Secure",
            "http_dump": lambda s: f"GET / HTTP/1.1\r\nCookie: session={s}\r\n",
        },
    ),
    "query_param": (
        lambda g: g.pick(B62, 32),
        {
            "key": lambda s: f"https://maps.example.com/api/geocode?address=Lisbon&key={s}",
            "api_key": lambda s: f"fetching https://api.example.com/v1?api_key={s}&format=json",
            "token": lambda s: {"url": f"https://hooks.example.com/ingest?token={s}"},
            "client_secret": lambda s: (
                f"POST /oauth/token grant_type=client_credentials&client_id=abc&client_secret={s}"
            ),
        },
    ),
    "generic_secret": (
        lambda g: g.pick(B62, 36),
        {
            "env_key": lambda s: f"PAYMENTS_SERVICE_KEY={s}\n",
            "env_secret": lambda s: f"JWT_SECRET={s}\n",
            "json_client_secret": lambda s: {"client_id": "app", "client_secret": s},
            "json_access_token": lambda s: {"access_token": s, "expires_in": 3600},
            "json_private_token": lambda s: {"private_token": s},
            "tool_args": lambda s: {
                "name": "configure",
                "arguments": json.dumps({"settings": {"api_key": s, "retries": 3}}),
            },
        },
    ),
}

BLOCKS: dict[str, Callable[[Gen], str]] = {
    "rsa": lambda g: g.pem("RSA PRIVATE KEY"),
    "pkcs8": lambda g: g.pem("PRIVATE KEY"),
    "ec": lambda g: g.pem("EC PRIVATE KEY"),
    "openssh": lambda g: g.pem("OPENSSH PRIVATE KEY"),
    "encrypted": lambda g: g.pem("ENCRYPTED PRIVATE KEY"),
}


def positives(g: Gen) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for family, make in TOKENS.items():
        for _ in range(6):
            secret = make(g)
            for context, embed in TOKEN_CONTEXTS.items():
                out.append(
                    {"family": family, "context": context, "value": embed(secret), "secret": secret}
                )
    for family, (make, contexts) in KEYED.items():
        for _ in range(6):
            secret = make(g)
            for context, embed in contexts.items():
                out.append(
                    {"family": family, "context": context, "value": embed(secret), "secret": secret}
                )
    for label, make in BLOCKS.items():
        for _ in range(3):
            block = make(g)
            body = block.split("\n")[3]  # a line of the key's body: it must not survive
            out.append(
                {
                    "family": "private_key",
                    "context": f"{label}_text",
                    "value": block,
                    "secret": body,
                }
            )
            out.append(
                {
                    "family": "private_key",
                    "context": f"{label}_tool_output",
                    "value": {"name": "read_file", "output": f"$ cat id_key\n{block}\n"},
                    "secret": body,
                }
            )
    for _ in range(4):
        block = g.pem("PRIVATE KEY")
        body = block.split("\n")[3]
        sa = {
            "type": "service_account",
            "project_id": "acme-prod",
            "private_key_id": g.pick(HEX, 40),
            "private_key": block + "\n",
            "client_email": "svc@acme-prod.iam.gserviceaccount.com",
        }
        out.append(
            {"family": "gcp_service_account", "context": "json", "value": sa, "secret": body}
        )
        out.append(
            {
                "family": "gcp_service_account",
                "context": "file_text",
                "value": json.dumps(sa, indent=2),
                "secret": body,
            }
        )
    for _ in range(4):
        secret = g.pick(B62, 24)
        team, channel = g.pick(UPPER32, 8), g.pick(UPPER32, 10)
        url = f"https://hooks.slack.com/services/T{team}/B{channel}/{secret}"
        out.append(
            {
                "family": "slack_webhook",
                "context": "text",
                "value": f"posting to {url}",
                "secret": secret,
            }
        )
        out.append(
            {
                "family": "slack_webhook",
                "context": "env",
                "value": f"SLACK_WEBHOOK={url}\n",
                "secret": secret,
            }
        )
    return out


LOOKALIKES: list[tuple[str, Any]] = [
    ("openai_key", "Attached: disk-usage-report-2024-10-01.pdf and disk-cleanup-plan-final.docx"),
    ("openai_key", "queued task-runner-cleanup-2024-10-01-nightly and task-9f8e7d6c5b4a"),
    ("openai_key", "see risk-assessment-matrix-2024-q3-final and whisk-and-bowl-set-deluxe"),
    ("openai_key", "pip install scikit-learn; import sklearn; sk-learn-model-selection-guide"),
    ("openai_key", "Set OPENAI_API_KEY to something like sk-... before running."),
    ("openai_key", "api_key = 'sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'  # replace me"),
    ("openai_key", "export OPENAI_API_KEY=YOUR_API_KEY"),
    ("openai_key", "export OPENAI_API_KEY=$OPENAI_API_KEY"),
    ("openai_key", "OPENAI_API_KEY=${OPENAI_API_KEY:-}"),
    ("bearer_token", "We use bearer authentication for the public API."),
    ("bearer_token", "Send the header as Bearer $OPENAI_API_KEY (from your environment)."),
    ("bearer_token", {"headers": {"Authorization": "Bearer ${TOKEN}"}}),
    ("bearer_token", "curl -H 'Authorization: Bearer <your-token>' https://api.example.com"),
    ("authorization", "Status of the request: authorization: pending approval"),
    ("authorization", {"authorization": "pending approval", "status": "waiting"}),
    ("authorization", "The Authorization header is missing from the request."),
    ("authorization", "Authorization: none"),
    ("password", "Password reset link sent to the user."),
    ("password", {"password_reset_url": "https://example.com/reset", "passwordless": True}),
    ("password", {"password": "", "password_hint": "the name of your first pet"}),
    ("password", "password: ********"),
    ("password", "DB_PASSWORD=changeme"),
    ("password", "Password: required field"),
    ("secret", "The secret to a good risotto is patience and warm stock."),
    ("secret", {"secret": "${SECRET}", "kind": "placeholder"}),
    ("token", {"token": "Hello", "logprob": -0.31, "top_logprobs": [{"token": " world"}]}),
    ("token", {"usage": {"input_tokens": 1234, "output_tokens": 321, "max_tokens": 4096}}),
    ("token", "Token limits: 4096 per request; tokens: 128000 in context."),
    ("token", {"next_token": None, "page_token": "2"}),
    ("api_key", {"key": "user_id", "value": 42}),
    ("api_key", {"cache_key": "user:123:profile", "sort_key": "created_at", "primary_key": "id"}),
    ("api_key", "key: value pairs are separated by a colon"),
    ("api_key", "The api-key rotation is scheduled for Monday."),
    ("api_key", {"idempotency_key": "7f3c9a2e-1b4d-4e8f-9a6b-2c1d0e9f8a7b"}),
    (
        "signature",
        {
            "type": "thinking",
            "thinking": "Let me add 2 and 2.",
            "signature": "EqQBCkYIARgCKkDmJ4gXq0vY6Ab1ZcT9rN2wLp8sHkQe3uFyViOaMbC",
        },
    ),
    ("cookie", "My favourite cookie: chocolate chip."),
    ("aws_access_key_id", "We expanded into the ASIA-PACIFIC region and the AKIA-style ids."),
    ("aws_access_key_id", "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX"),
    ("google_api_key", "The AIza prefix marks Google API keys."),
    ("github_token", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx is the placeholder in the docs"),
    ("github_token", "graph_node_count=12, github_actions_enabled=true"),
    ("slack_token", "xoxo, see you soon! (xoxb-... in the docs)"),
    ("jwt", "data:application/json;base64,eyJrZXkiOiJ2YWx1ZSJ9"),
    ("jwt", "eyJ is how base64 of a JSON object starts."),
    (
        "private_key",
        (
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
            "-----END PUBLIC KEY-----"
        ),
    ),
    (
        "private_key",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----",
    ),
    ("private_key", "Paste your -----BEGIN PRIVATE KEY----- block into the settings page."),
    ("url_password", "https://user@example.com/path and git@github.com:org/repo.git"),
    ("url_password", "postgres://localhost:5432/app and redis://cache:6379/0"),
    ("url_password", "https://medium.com/@someone/how-to-cook-rice-1a2b3c4d5e6f"),
    ("url_password", "postgres://app:${DB_PASSWORD}@db:5432/prod"),
    ("url_password", "https://example.com/search?q=weather&page=2&sort=asc"),
    ("ids", {"id": "chatcmpl-9XyZaBcDeFgHiJkLmNoPqRsTuVw12", "model": "gpt-4o-mini"}),
    ("ids", {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "tool_use_id": "toolu_01A09q90qw90lq917835lq9"}),
    ("ids", {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}),
    ("ids", {"response_id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"}),
    ("ids", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ("ids", "uuid 550e8400-e29b-41d4-a716-446655440000, call_abc123, get_weather"),
    (
        "ids",
        {
            "image": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6"
            "kgAAAABJRU5ErkJggg=="
        },
    ),
    ("prose", "The quick brown fox jumps over the lazy dog while planning a trip to Lisbon."),
    ("prose", "Meeting notes: tokens are cheap, secrets are not; the key takeaway is caching."),
    ("prose", "npm_config_cache is set by npm; pypi-mirror and hf_hub are package names."),
    ("prose", "Use xai-grok-2-latest or gsk for short; SG.Collection is a class name."),
    ("prose", "ya29 is a prefix; the file is at /home/user/.ssh/id_ed25519.pub"),
    ("code", "def get_api_key(name: str) -> str:\n    return os.environ[name]  # never log it\n"),
    (
        "code",
        "headers = {'Authorization': f'Bearer {token}'}\nresp = requests.get(url, headers=headers)",
    ),
    ("code", "token = tokenizer.encode(text)\nkey = (user_id, session_id)\nsecret_santa = pick()"),
]


def lookalikes() -> list[dict[str, Any]]:
    return [{"family": family, "value": value} for family, value in LOOKALIKES]


def render(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> None:
    (HERE / "positives.jsonl").write_text(render(positives(Gen(20261130))), encoding="utf-8")
    (HERE / "lookalikes.jsonl").write_text(render(lookalikes()), encoding="utf-8")


if __name__ == "__main__":
    main()
