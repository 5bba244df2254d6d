#!/usr/bin/env python3
"""An independent NCP API Gateway v2 client (Python's hmac, hashlib and base64; no project code).

Registers, lists and deletes opt-outs on a SENS-compatible server, checking each answer, and exits 0 only if
every step behaved as SENS documents. Usage: python_signed_client.py BASE_URL SERVICE_ID ACCESS_KEY SECRET_KEY
"""
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

base_url, service_id, access_key, secret_key = sys.argv[1:5]
path = "/sms/v2/services/%s/unsubscribes" % service_id


def call(method, target, body=None, secret=secret_key):
    timestamp = str(int(time.time() * 1000))
    message = "%s %s\n%s\n%s" % (method, target, timestamp, access_key)
    signature = base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()
    request = urllib.request.Request(base_url + target, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"x-ncp-apigw-timestamp": timestamp, "x-ncp-iam-access-key": access_key,
                                              "x-ncp-apigw-signature-v2": signature,
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def expect(condition, what):
    if not condition:
        print("FAILED: " + what)
        sys.exit(1)


status, body = call("POST", path, [{"clientTelNo": "01077778888"}, {"clientTelNo": "01077779999"}])
expect(status == 200, "register answered %d" % status)
expect([r["clientTelNo"] for r in json.loads(body)] == ["01077778888", "01077779999"], "register body %r" % body)

status, body = call("GET", path + "?clientTelNo=01077778888&pageSize=10&pageIndex=0")
expect(status == 200 and json.loads(body)[0]["registerType"] == "M", "list answered %d %r" % (status, body))

status, _ = call("DELETE", path, [{"clientTelNo": "01077779999"}])
expect(status == 204, "delete answered %d" % status)

status, body = call("GET", path, secret="not-the-secret")
expect(status == 401 and json.loads(body)["error"]["errorCode"] == "200", "wrong secret answered %d" % status)

print("python client: register, list, delete and a refused signature all behaved as documented")
