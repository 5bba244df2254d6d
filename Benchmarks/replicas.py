"""Measures replicas sharing a mirror on PostgreSQL (Benchmarks/replicas.sh starts them):

  calls PORT INTERVAL_SECONDS INTERVALS SIM_PORT   SENS list calls per sync interval, over INTERVALS intervals
  delay WRITER_PORT READER_PORT COUNT              registers through one replica, each polled on another until its
                                                   check answers opted out from the mirror; median and worst delay
"""
import http.client
import json
import statistics
import sys
import time


def get(connection, path):
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def list_calls(sim_port):
    connection = http.client.HTTPConnection("127.0.0.1", sim_port)
    _, _, body = get(connection, "/_simulator/stats")
    return json.loads(body)["listCalls"]


def calls(sim_port, interval, intervals):
    before = list_calls(sim_port)
    time.sleep(interval * intervals)
    after = list_calls(sim_port)
    print(f"{(after - before) / intervals:.2f}")


def delay(writer_port, reader_port, count):
    writer = http.client.HTTPConnection("127.0.0.1", writer_port)
    reader = http.client.HTTPConnection("127.0.0.1", reader_port)
    delays = []
    for index in range(count):
        number = f"0107{index:07d}"
        body = json.dumps({"phoneNumbers": [number]})
        writer.request("POST", "/v1/unsubscribes", body=body, headers={"Content-Type": "application/json"})
        response = writer.getresponse()
        response.read()
        assert response.status == 200, response.status
        answered = time.monotonic()
        while True:
            status, headers, payload = get(reader, f"/v1/unsubscribes/{number}")
            if status == 200 and headers.get("X-Cache") == "MIRROR" and b'"optedOut":true' in payload:
                break
            if time.monotonic() - answered > 10:
                raise SystemExit(f"{number} did not reach the other replica in 10 s")
        delays.append((time.monotonic() - answered) * 1000)
    delays.sort()
    print(f"{statistics.median(delays):.2f} {delays[int(len(delays) * 0.9) - 1]:.2f} {delays[-1]:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "calls":
        calls(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    else:
        delay(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
