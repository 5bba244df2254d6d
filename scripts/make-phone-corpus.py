#!/usr/bin/env python3
"""Builds Tests/SENSCoreTests/Fixtures/phone-corpus.jsonl: Korean phone numbers in the formats people type,
each with the verdict of Google libphonenumber (`pip install phonenumbers`) and the gateway's expectation.

The expectation is libphonenumber's verdict except where the gateway's policy (DESIGN.md, "Korean phone
numbers") deliberately departs from it; such lines carry a `departure` saying which rule and why.

    pip install phonenumbers==9.0.43
    python3 scripts/make-phone-corpus.py                 # rewrites the fixture (deterministic: fixed seed)
    python3 scripts/make-phone-corpus.py --output FILE   # writes elsewhere (CI compares it with the fixture)
"""
import json
import os
import random
import re
import sys

import phonenumbers
from phonenumbers import PhoneNumberType as T

SEED = 20261122
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SENSTestSupport", "Fixtures", "phone-corpus.jsonl")
rng = random.Random(SEED)

KIND = {T.MOBILE: "mobile", T.FIXED_LINE: "fixed_line", T.VOIP: "voip", T.PERSONAL_NUMBER: "personal",
        T.UAN: "uan", T.TOLL_FREE: "toll_free", T.PREMIUM_RATE: "premium_rate", T.PAGER: "pager"}
UNREACHABLE = {"toll_free", "premium_rate", "pager"}
AREA_CODES = ["031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055",
              "061", "062", "063", "064"]
UAN_BLOCKS = ["1522", "1533", "1544", "1566", "1577", "1588", "1599", "1600", "1670", "1644", "1660", "1661",
              "1666", "1668", "1688", "1800", "1833", "1855", "1877", "1899"]
# Separators the policy accepts, beyond ASCII space, '-', '.', '/'.
NBSP, IDEOGRAPHIC_SPACE, HYPHEN, EN_DASH, EM_DASH, MINUS = "\u00a0", "\u3000", "\u2010", "\u2013", "\u2014", "\u2212"
FULLWIDTH = str.maketrans("0123456789+()-", "０１２３４５６７８９＋（）－")


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def subscriber(n):
    """A subscriber number whose first digit is not 0."""
    return rng.choice("123456789") + digits(n - 1)


# ---------------------------------------------------------------- national numbers, as digit groups
def national_numbers():
    """(groups, note): groups join to the national form with its leading 0 where it has one."""
    out = []
    for _ in range(60):
        out.append((["010", subscriber(4), digits(4)], "010 mobile"))
    for prefix in ["011", "016", "017", "018", "019"]:
        for _ in range(6):
            out.append(([prefix, subscriber(4), digits(4)], "legacy mobile"))
            out.append(([prefix, subscriber(3), digits(4)], "legacy mobile, 3-digit exchange"))
    for _ in range(4):
        out.append((["010", subscriber(3), digits(4)], "010 with 3-digit exchange"))
        out.append((["012", subscriber(4), digits(4)], "012 IoT mobile block"))
    out.append((["0105", "97" + digits(2), digits(4)], "unallocated 0105 97 block"))
    out.append((["0122", "2" + digits(3), digits(4)], "unallocated 0122 2 block"))
    for _ in range(25):
        out.append((["02", subscriber(4), digits(4)], "Seoul"))
        out.append((["02", subscriber(3), digits(4)], "Seoul, 3-digit exchange"))
    out.append((["02", "0" + digits(3), digits(4)], "Seoul exchange starting with 0"))
    for code in AREA_CODES:
        for _ in range(3):
            out.append(([code, subscriber(4), digits(4)], "area number"))
            out.append(([code, subscriber(3), digits(4)], "area number, 3-digit exchange"))
        out.append(([code, "1" + digits(rng.choice([2, 3]))], "short service number in an area"))
    for _ in range(12):
        out.append((["070", subscriber(4), digits(4)], "VoIP"))
    for _ in range(6):
        out.append((["050" + rng.choice("2345678"), subscriber(3), digits(4)], "personal 050X, 11 digits"))
        out.append((["050" + rng.choice("2345678"), subscriber(4), digits(4)], "personal 050X, 12 digits"))
    for block in UAN_BLOCKS:
        out.append(([block, digits(4)], "nationwide 15XX/16XX/18XX"))
    for block in ["1500", "1234", "1700", "1801"]:
        out.append(([block, digits(4)], "unallocated nationwide block"))
    for _ in range(5):
        out.append((["080", subscriber(3), digits(4)], "toll-free"))
        out.append((["060", rng.choice("23456789") + digits(2), digits(4)], "premium rate"))
        out.append((["015", subscriber(3), digits(4)], "pager"))
    out.append((["030", subscriber(3), digits(4)], "toll-free 030"))
    for _ in range(4):
        out.append((["010", subscriber(4), digits(3)], "010 one digit short"))
        out.append((["010", subscriber(4), digits(5)], "010 one digit long"))
        out.append((["02", subscriber(3), digits(3)], "Seoul too short"))
        out.append((["02", subscriber(4), digits(5)], "Seoul too long"))
        out.append((["070", subscriber(4), digits(3)], "VoIP too short"))
    for prefix in ["034", "065", "040", "090", "013", "014", "071"]:
        out.append(([prefix, subscriber(4), digits(4)], "unknown prefix"))
    return out


def national_formats(groups):
    """Domestic spellings of one number."""
    g = groups
    plain = "".join(g)
    forms = [
        "-".join(g), " ".join(g), plain, ".".join(g), "/".join(g),
        "(" + g[0] + ") " + "-".join(g[1:]) if len(g) > 1 else plain,
        g[0] + ")" + "-".join(g[1:]) if len(g) > 1 else plain,
        " " + "-".join(g) + " ",
        NBSP.join(g), IDEOGRAPHIC_SPACE.join(g), HYPHEN.join(g), EN_DASH.join(g), EM_DASH.join(g), MINUS.join(g),
        "-".join(g).translate(FULLWIDTH),
        " - ".join(g),
    ]
    return forms


def international_formats(groups):
    """Spellings with the Korean country code."""
    national = "".join(groups)
    has_zero = national.startswith("0")
    nsn_groups = [groups[0][1:]] + groups[1:] if has_zero else list(groups)
    nsn = "-".join(nsn_groups)
    forms = ["+82 " + nsn, "+82-" + nsn, "+82" + nsn.replace("-", ""), "82 " + nsn, "82" + nsn.replace("-", ""),
             "0082 " + nsn, "0082-" + nsn, "(+82) " + nsn, "+82 " + nsn.replace("-", " "),
             "+82 " + nsn.translate(FULLWIDTH)]
    if has_zero:
        forms += ["+82 (0)" + nsn, "+82 0" + nsn, "+82-0" + nsn]
    return forms


def raw_cases():
    cases = []
    for groups, note in national_numbers():
        forms = national_formats(groups)
        for form in rng.sample(forms, 5):
            cases.append((form, note))
        for form in rng.sample(international_formats(groups), 3):
            cases.append((form, note + ", international form"))
    # Domestic numbers written without their leading 0 (only 15XX/16XX/18XX numbers have none).
    for _ in range(6):
        cases.append(("10" + subscriber(4) + digits(4), "mobile without its leading 0"))
        cases.append(("2-" + subscriber(4) + "-" + digits(4), "Seoul without its leading 0"))
    for block in ["1588", "1644", "1800"]:
        cases.append(("0" + block + "-" + digits(4), "nationwide number with a leading 0"))
    # Carrier-selection prefixes (08X) that libphonenumber strips.
    for carrier in ["081", "082", "083", "084", "086"]:
        cases.append((carrier + "-10-" + subscriber(4) + "-" + digits(4), "carrier-selection prefix"))
    # Foreign numbers.
    foreign = ["+1 212 555 " + digits(4), "+1-415-555-" + digits(4), "+81 3-" + subscriber(4) + "-" + digits(4),
               "+81 90 " + subscriber(4) + " " + digits(4), "+86 138 " + digits(4) + " " + digits(4),
               "+44 20 7946 " + digits(4), "+7 495 123-45-67", "+852 " + subscriber(4) + " " + digits(4),
               "+886 912 345 678", "+84 91 234 56 78", "+61 4 1234 5678", "+49 30 " + subscriber(8),
               "+33 6 12 34 56 78", "+380 44 123 4567", "+855 12 345 678", "+63 917 123 4567",
               "0081 3 1234 5678", "001 1 212 555 " + digits(4), "00 86 138 " + digits(8), "+850 2 123 4567"]
    for _ in range(2):
        for f in foreign:
            cases.append((f, "foreign number"))
    # Text that is not a phone number, or a number with something else attached.
    mobile = lambda: "010-" + subscriber(4) + "-" + digits(4)
    junk = [
        ("", "empty"), ("   ", "only spaces"), ("---", "only dashes"), ("+", "only a plus"),
        ("010-1234-567O", "letter O for a zero"), ("O1O-1234-5678", "letters O for zeros"),
        ("1588-CALL", "vanity letters"), ("010 1234 5678 ext 12", "extension"), ("010-1234-5678 x12", "extension"),
        ("010-1234-5678#", "hash"), ("*010-1234-5678", "star"), ("010~1234~5678", "tilde"),
        ("010,1234,5678", "commas"), ("tel:010-1234-5678", "tel: URI"), ("010-1234-5678번", "Korean text"),
        ("전화 010-1234-5678", "Korean text"), ("010\t1234\t5678", "tab"), ("010-1234-5678\n", "trailing newline"),
        ("\t010-1234-5678", "leading tab"), ("010-1234-5678\r\n", "trailing CRLF"), ("\ufeff010-1234-5678", "byte-order mark"),
        ("\u3000010-1234-5678\u00a0", "ideographic and no-break spaces around"), ("010\n1234", "newline inside"),
        ("010\u200b1234\u200b5678", "zero-width space"), ("010-1234-5678 📱", "emoji"),
        ("++82 10 1234 5678", "two pluses"), ("82+10 1234 5678", "plus in the middle"),
        ("010-1234-5678+", "trailing plus"), ("+0 10 1234 5678", "plus then 0"), ("00", "international prefix alone"),
        ("0", "a zero"), ("1", "one digit"), ("01", "two digits"), ("+82", "country code alone"),
        ("+82 10", "country code and prefix"), ("010_1234_5678", "underscores"), ("010:1234:5678", "colons"),
        ("010'1234'5678", "apostrophes"), ("0x10-1234-5678", "hex prefix"), ("1e10", "scientific notation"),
        ("-1", "negative"), ("0" * 80, "very long"), ("010-1234-5678" * 6, "repeated number"),
        ("null", "the word null"), ("010 1234 5678;", "semicolon"), ("[010-1234-5678]", "brackets"),
        ("010—1234—5678—", "trailing dash"), ("０１０ー１２３４ー５６７８", "katakana long-vowel marks as dashes"),
        ("+82 010 1234 5678 ", "trailing space after international form"), ("01O-1234-5678", "letter O"),
    ]
    for _ in range(3):
        junk.append((mobile() + "a", "trailing letter"))
        junk.append(("a" + mobile(), "leading letter"))
    cases += junk
    return cases


# ---------------------------------------------------------------- verdicts
def libphonenumber_verdict(text):
    try:
        number = phonenumbers.parse(text, "KR")
    except phonenumbers.NumberParseException as error:
        return {"valid": False, "why": "parse error: " + str(error).split(") ", 1)[-1]}
    if number.country_code != 82:
        return {"valid": False, "why": "country code +%d" % number.country_code, "country_code": number.country_code}
    if not phonenumbers.is_valid_number(number):
        return {"valid": False, "why": "not valid"}
    kind = KIND.get(phonenumbers.number_type(number), "other")
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    verdict = {"valid": True, "digits": national, "kind": kind}
    if number.extension:
        verdict["extension"] = number.extension
    return verdict


ACCEPTED = re.compile(r"^[0-9\uff10-\uff19\s\u00a0\u3000\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d.\uff0e/\uff0f()\uff08\uff09+\uff0b]*$")


def only_separator_spaces(text):
    """The policy's spaces are Unicode space separators; tabs and newlines are not."""
    return not any(c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029" for c in text)


# Leading and trailing characters trimmed before parsing: Unicode White_Space (Swift's Character.isWhitespace)
# and the byte-order mark. Python's str.strip() would also take U+001C–U+001F, which are not White_Space.
PADDING = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def expectation(text, lib):
    """The gateway's expected answer and, where it departs from libphonenumber, the rule that makes it."""
    text = text.strip(PADDING)
    plain = re.sub(r"[^0-9+\uff10-\uff19\uff0b]", "", text).translate(str.maketrans("０１２３４５６７８９＋", "0123456789+"))
    if len(text) > 64:
        return {"accept": False, "code": "input_too_long"}, None if not lib["valid"] else "input over 64 characters"
    if re.fullmatch(r"[0-9](\.[0-9]+)?[eE]\+?[0-9]{1,2}", text):
        return {"accept": False, "code": "scientific_notation"}, \
            "a spreadsheet's scientific notation is named as such" if lib["valid"] else None
    if not ACCEPTED.match(text) or not only_separator_spaces(text):
        departure = "characters other than digits and separators are never interpreted (letters, ext, #, tel:)"
        return {"accept": False, "code": "unexpected_character"}, departure if lib["valid"] else None
    if plain.count("+") > 1 or ("+" in plain and not plain.startswith("+")):
        return {"accept": False, "code": "misplaced_plus"}, None if not lib["valid"] else "one leading '+' only"
    if plain.startswith("0082"):
        # libphonenumber reads "008" as an international prefix; the policy takes 0082 as the Korean country code.
        with_plus = text.replace("0082", "+82", 1)
        expect, departure = expectation(with_plus, libphonenumber_verdict(with_plus))
        if expect["accept"] or lib["valid"]:
            departure = "0082 is read as the Korean country code" + ("; " + departure if departure else "")
        return expect, departure
    if re.match(r"^0(8[1-46-8]|85\d\d)", plain) and lib["valid"]:
        return {"accept": False}, "carrier-selection prefixes (08X) are not stripped"
    if not lib["valid"]:
        return {"accept": False}, None
    if lib["kind"] in UNREACHABLE:
        return {"accept": False, "code": "cannot_receive_messages"}, \
            "toll-free (080/030), premium-rate (060) and pager (015) numbers cannot receive messages"
    national_digits = re.sub(r"[^0-9]", "", plain)
    is_international = plain.startswith("+") or national_digits.startswith("82")
    if not is_international and not national_digits.startswith("0") and lib["kind"] != "uan":
        if lib["kind"] == "mobile" and re.fullmatch(r"1[0-9]{8,9}", text):
            # Only digits, as a spreadsheet writes a number it stored as a number: said so, and repairable.
            return {"accept": False, "code": "leading_zero_lost"}, \
                "a domestic number must be written with its leading 0 (a spreadsheet dropped it)"
        return {"accept": False, "code": "missing_leading_zero"}, "a domestic number must be written with its leading 0"
    if lib["kind"] == "uan":
        after_country = national_digits[2:] if is_international else national_digits
        if after_country.startswith("0"):
            return {"accept": False, "code": "unexpected_leading_zero"}, \
                "15XX/16XX/18XX numbers have no leading 0; one written with it may be a mistyped 015/016/018 number"
    return {"accept": True, "digits": lib["digits"], "kind": lib["kind"]}, None


def main():
    output = sys.argv[sys.argv.index("--output") + 1] if "--output" in sys.argv else OUT
    seen = set()
    rows = []
    for text, note in raw_cases():
        if text in seen:
            continue
        seen.add(text)
        lib = libphonenumber_verdict(text)
        expect, departure = expectation(text, lib)
        row = {"input": text, "note": note, "expect": expect, "libphonenumber": lib}
        if departure:
            row["departure"] = departure
        rows.append(row)
    with open(output, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    accepted = sum(r["expect"]["accept"] for r in rows)
    departures = sum("departure" in r for r in rows)
    print("%d inputs (%d accepted, %d rejected), %d departures from libphonenumber %s -> %s"
          % (len(rows), accepted, len(rows) - accepted, departures, phonenumbers.__version__, os.path.relpath(output)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
