"""Smithy RPC v2 CBOR in front of moto.

The AWS SDK for Rust speaks CloudWatch's newest protocol, Smithy RPC v2 CBOR
(`POST /service/GraniteServiceVersion20100801/operation/GetMetricStatistics`, CBOR body),
which moto 5.2 does not route. moto does speak the same service's JSON 1.0 protocol, so
this bridge translates: CBOR request -> JSON 1.0 request -> moto -> JSON response -> CBOR
response. Timestamps are the only values whose encoding differs (CBOR tag 1 vs epoch
numbers); botocore's service model says which members are timestamps.
"""

import io
import json
import re
from datetime import datetime, timezone

import botocore.session
import cbor2

_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")
_SESSION = botocore.session.get_session()
_MODELS = {}


def is_cbor_request(environ):
    return bool(_PATH.match(environ.get("PATH_INFO", ""))) and "cbor" in environ.get("CONTENT_TYPE", "")


def operation_of(environ):
    m = _PATH.match(environ.get("PATH_INFO", ""))
    return (m.group(1), m.group(2)) if m else (None, None)


def _model(signing_name, operation):
    key = (signing_name, operation)
    if key not in _MODELS:
        service = {"monitoring": "cloudwatch"}.get(signing_name, signing_name)
        _MODELS[key] = _SESSION.get_service_model(service).operation_model(operation)
    return _MODELS[key]


def _to_json(value):
    """CBOR-decoded request values -> JSON-protocol values."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def _to_cbor(value, shape):
    """JSON-protocol response values -> CBOR values, timestamps as CBOR tag 1."""
    if shape is None or value is None:
        return value
    if shape.type_name == "timestamp":
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            try:
                return datetime.fromtimestamp(float(value), tz=timezone.utc)
            except ValueError:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _to_cbor(v, shape.members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_cbor(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _to_cbor(v, shape.value) for k, v in value.items()}
    return value


def call(app, environ):
    """Runs the WSGI app to completion: ({"status", "headers"}, body bytes)."""
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    chunks = app(environ, capture)
    payload = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return captured, payload


def handle(app, environ, start_response, signing_name):
    target_prefix, operation = operation_of(environ)
    raw = environ["wsgi.input"].read()
    request = cbor2.loads(raw) if raw else {}
    body = json.dumps(_to_json(request)).encode()
    environ = dict(environ)
    environ.update({
        "PATH_INFO": "/",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "HTTP_X_AMZ_TARGET": f"{target_prefix}.{operation}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    })
    captured, payload = call(app, environ)
    try:
        decoded = json.loads(payload) if payload.strip() else {}
    except ValueError:
        decoded = {"__type": "InternalFailure", "message": payload.decode(errors="replace")[:500]}
    if captured["status"].startswith("2"):
        out = _to_cbor(decoded, _model(signing_name, operation).output_shape)
    else:
        # Smithy RPC v2 errors carry their code in `__type`, as JSON 1.0 does.
        out = decoded
    data = cbor2.dumps(out if out is not None else {}, datetime_as_timestamp=True, timezone=timezone.utc)
    headers = [(k, v) for k, v in captured["headers"] if k.lower() not in ("content-type", "content-length")]
    headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                ("Content-Length", str(len(data)))]
    start_response(captured["status"], headers)
    return [data]


def throttled(start_response, request_id):
    data = cbor2.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    start_response("400 Bad Request", [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                       ("Content-Length", str(len(data))), ("x-amzn-RequestId", request_id)])
    return [data]


def error(start_response, request_id, status_line, code, message):
    data = cbor2.dumps({"__type": code, "message": message})
    start_response(status_line, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                 ("Content-Length", str(len(data))), ("x-amzn-RequestId", request_id)])
    return [data]
