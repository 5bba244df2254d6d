#!/usr/bin/env python3
"""Writes the fixed SENS answers the benchmark's nginx upstream serves, into DIR/answers/:

list.json      a full list page: 100 records, newest first, as SENS returns them (KST local times, ARS and manual)
register.json  a register answer for a full chunk of 1,000 numbers

    make-sens-answers.py DIR
"""
import json
import os
import sys
from datetime import datetime, timedelta


def records(count, first_number):
    start = datetime(2026, 11, 20, 18, 30, 15, 123000)
    return [
        {
            "clientTelNo": f"010{first_number + i:08d}",
            "registerType": "C" if i % 7 == 0 else "M",
            "registerTime": (start - timedelta(seconds=37 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        }
        for i in range(count)
    ]


def main():
    directory = os.path.join(sys.argv[1], "answers")
    os.makedirs(directory, exist_ok=True)
    for name, body in (("list.json", records(100, 20_000_000)), ("register.json", records(1000, 30_000_000))):
        with open(os.path.join(directory, name), "w") as answer:
            json.dump(body, answer, separators=(",", ":"))


main()
