"""The emulator's control API, for the self-tests: GET without a body, POST with one."""
import json
import urllib.request


def control(endpoint, path, body=None):
    req = urllib.request.Request(endpoint + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())
