"""AWS JSON (1.0/1.1) answers as AWS sends them: timestamps as epoch seconds.

Smithy's awsJson1_0 / awsJson1_1 protocols serialize a `timestamp` member as epoch seconds
unless the model says otherwise (Smithy "AWS JSON 1.1 protocol", "timestamp: epoch-seconds");
moto's DMS answers ISO 8601 strings (`"ReplicationTaskCreationDate": "2026-12-02T04:50:00"`),
which boto3 parses leniently and the AWS SDK for Rust refuses. botocore's service model says
which members are timestamps (as in cbor_bridge.py).
"""

import json
from datetime import datetime, timezone

from cbor_bridge import _model, call

# The JSON services whose moto answers need it (the others already send numbers).
SERVICES = {"dms"}


def _epoch(value, shape):
    if shape is None or value is None:
        return value
    if shape.type_name == "timestamp" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:  # moto's utcnow(): naive UTC
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _epoch(v, shape.members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_epoch(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _epoch(v, shape.value) for k, v in value.items()}
    return value


def handle(app, environ, start_response, service, operation):
    captured, payload = call(app, environ)
    if captured["status"].startswith("2") and payload.strip():
        payload = json.dumps(_epoch(json.loads(payload), _model(service, operation).output_shape)).encode()
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    start_response(captured["status"], headers + [("Content-Length", str(len(payload)))])
    return [payload]
