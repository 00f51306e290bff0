"""Entities: error codes, KB references, products with versions, and the product lexicon."""

from __future__ import annotations

import pytest

from extract import Extractor
from extract.categories import taxonomy
from extract.entities import ERROR_CODE, KB_REF, PRODUCT, mentions
from extract.hosts import find_hosts
from extract.lexicon import load_json


def found(extractor: Extractor, text: str, label: str) -> list[str]:
    return [m.value for m in mentions(extractor.nlp(text)) if m.label == label]


@pytest.mark.parametrize(("text", "code"), [
    ("getting error 0x80070005 when installing", "0x80070005"),
    ("update fails with 0x800f0922.", "0x800F0922"),
    ("lots of event id 4625 in the security log", "Event ID 4625"),
    ("Event ID: 41 kernel-power after the outage", "Event ID 41"),
    ("portal shows HTTP 503", "HTTP 503"),
    ("the site returns 502 Bad Gateway", "HTTP 502"),
    ("sign-in fails with AADSTS50126", "AADSTS50126"),
    ("teams error caa70004", "CAA70004"),
    ("bluescreen STOP 0x0000007E on boot", "0x0000007E"),
    ("IRQL_NOT_LESS_OR_EQUAL after the driver update", "IRQL_NOT_LESS_OR_EQUAL"),
    ("NDR says 550 5.7.1 unable to relay", "550 5.7.1"),
    ("msi install ends with error 1603", "Error 1603"),
])
def test_error_codes_are_found_and_normalised(extractor: Extractor, text: str, code: str) -> None:
    assert code in found(extractor, text, ERROR_CODE)


@pytest.mark.parametrize(("text", "ref"), [
    ("installed KB5034441 manually", "KB5034441"),
    ("kb 5034441 keeps failing", "KB5034441"),
    ("see https://support.microsoft.com/kb/5034441?utm_source=x", "KB5034441"),
    ("followed NG-KB-0117 for the vpn", "NG-KB-0117"),
    ("per KB-1234 in our docs", "KB-1234"),
    ("fixed per https://docs.contoso.example/wiki/vpn-98?token=abc#step2",
     "https://docs.contoso.example/wiki/vpn-98"),
])
def test_kb_references_are_found_and_normalised(extractor: Extractor, text: str, ref: str) -> None:
    assert found(extractor, text, KB_REF) == [ref]


def test_kb_links_lose_their_query_string(extractor: Extractor) -> None:
    refs = found(extractor, "https://kb.example.com/article/12?sig=SECRETVALUE", KB_REF)

    assert refs == ["https://kb.example.com/article/12"]


@pytest.mark.parametrize(("text", "product"), [
    ("outlook keeps crashing", "Microsoft Outlook"),
    ("user on o365 can't sign in", "Microsoft 365"),
    ("M365 admin center shows the licence", "Microsoft 365"),
    ("ms teams won't load", "Microsoft Teams"),
    ("reinstalled GlobalProtect 6.2.1 on her laptop", "GlobalProtect 6.2.1"),
    ("FortiClient v7.0.11 fixed the 98% hang", "FortiClient 7.0.11"),
    ("Windows 10 22H2 feature update", "Windows 10 22H2"),
    ("opened it in Edge instead", "Microsoft Edge"),
    ("QB multi-user mode error H202", "QuickBooks"),
    ("the Ricoh copier will not scan", "Ricoh copier"),
])
def test_products_are_found_with_their_versions(extractor: Extractor, text: str,
                                                product: str) -> None:
    assert product in found(extractor, text, PRODUCT)


def test_ambiguous_words_are_products_only_as_written(extractor: Extractor) -> None:
    assert found(extractor, "the cable on the edge of the desk", PRODUCT) == []
    assert found(extractor, "a Word document", PRODUCT) == ["Microsoft Word"]


def test_an_ip_address_is_not_a_version(extractor: Extractor) -> None:
    assert found(extractor, "Windows 10 10.0.0.12 is the gateway", PRODUCT) == ["Windows 10"]


def test_mentions_point_at_their_text(extractor: Extractor) -> None:
    text = "Remoted in; 0x8004010F in Outlook, installed KB5034441."

    for mention in mentions(extractor.nlp(text)):
        assert text[mention.start:mention.end] in {"0x8004010F", "Outlook", "KB5034441"}


def test_product_lexicon_is_sound() -> None:
    products = load_json("products.json")["products"]
    categories = {category.id for category in taxonomy()}
    aliases = [alias.lower() for p in products for alias in p.get("aliases", [])]

    assert len(products) >= 60
    assert len(aliases) == len(set(aliases)), "an alias may name only one product"
    assert {p["category"] for p in products} <= categories


@pytest.mark.parametrize(("text", "product"), [
    ("exchange online mailbox is full", "Exchange"),
    ("Dentrix won't open after the update", "Dentrix"),
    ("Eaglesoft and Open Dental both on the server", "Open Dental"),
    ("user can't log in to Clio", "Clio"),
    ("reinstalled bluebeam revu for the estimator", "Bluebeam Revu"),
    ("Huntress flagged a persistence item", "Huntress"),
    ("duo push never arrives on her phone", "Duo Security"),
    ("the FortiGate 60F dropped the ipsec tunnel", "FortiGate"),
    ("docked the Dell Latitude 5420 to a WD19S dock", "Dell Latitude 5420"),
    ("HP LaserJet M404dn jams on tray 2", "HP LaserJet M404dn"),
    ("HP EliteBook 840 G8 battery swollen", "HP EliteBook 840 G8"),
    ("updated dock firmware (WD19S)", "Dell dock"),
    ("Veeam job failed on the Hyper-V host", "Hyper-V"),
    ("esxi host lost its datastore", "VMware ESXi"),
    ("moved the share to server 2012 r2", "Windows Server 2012 R2"),
    ("sent from outlook for android", "Outlook mobile"),
    ("the zebra zd420 prints blank labels", "Zebra"),
    ("scansnap ix1600 won't scan to folder", "Fujitsu ScanSnap ix1600"),
    ("Yealink phones lost registration with 3CX", "3CX"),
    ("AVD session host is stuck", "Azure Virtual Desktop"),
])
def test_issue4_lexicon_finds_msp_products(extractor: Extractor, text: str,
                                           product: str) -> None:
    assert product in found(extractor, text, PRODUCT)


def test_issue4_a_quantity_after_a_device_is_not_its_model(extractor: Extractor) -> None:
    assert found(extractor, "Synology NAS 100 GB free", PRODUCT) == ["Synology NAS"]
    assert found(extractor, "Synology DS920+ offline", PRODUCT) == ["Synology NAS DS920+"]


@pytest.mark.parametrize("text", [
    "Please exchange the faulty part when you come by.",
    "The cable was lying on the edge of the desk.",
    "She wrote a long word on the whiteboard.",
    "He needs access to the building after hours.",
    "My brother will pick up the laptop tomorrow.",
    "The surface of the desk is scratched.",
    "Give him some slack, he is new.",
    "The keeper of the keys is the office manager.",
    "I had a cup of java before the meeting.",
    "Latitude and longitude are shown on the map.",
    "There was a ruckus in the break room.",
    "Parallels can be drawn with last month's outage.",
    "Bring an umbrella, it is raining.",
    "The falcon flew over the parking lot.",
    "Sage advice from the manager: back up your files.",
    "The box is in the storage room.",
    "That was an epic meeting.",
    "Put the printer paper on the shelf.",
    "Thanks, have a great weekend!",
    "Call me back when you get a chance.",
    "The new starter begins on Monday at nine.",
    "Our office moves to the third floor next week.",
    "Please send the invoice to accounts.",
    "The meeting room projector remote needs batteries.",
    "I will be out of office on Friday.",
    "He took back-ups of the photos on his own.",
])
def test_issue4_ordinary_sentences_name_no_product(extractor: Extractor, text: str) -> None:
    assert found(extractor, text, PRODUCT) == []


def test_issue4_product_lexicon_is_large_unique_and_unambiguous() -> None:
    products = load_json("products.json")["products"]
    names = [p["name"] for p in products]
    owners: dict[str, list[str]] = {}
    for p in products:
        for alias in {a.lower() for a in [*p.get("aliases", []), *p.get("cased", [])]}:
            owners.setdefault(alias, []).append(p["name"])

    assert len(products) >= 320
    assert len(names) == len(set(names)), "canonical names must be unique"
    assert all(p.get("aliases") or p.get("cased") for p in products)
    assert {alias: who for alias, who in owners.items() if len(who) > 1} == {}


def test_issue4_every_alias_resolves_to_its_product(extractor: Extractor) -> None:
    wrong = []
    for p in load_json("products.json")["products"]:
        for alias in [*p.get("aliases", []), *p.get("cased", [])]:
            got = [m.product for m in mentions(extractor.nlp(f"checked {alias} today"))
                   if m.label == PRODUCT]
            if got != [p["name"]]:
                wrong.append((alias, p["name"], got))
    assert wrong == []


@pytest.mark.parametrize(("text", "hosts"), [
    ("rebooted DC01 and SRV-FS01, then KPM-SHOP02 came back", ["DC01", "SRV-FS01", "KPM-SHOP02"]),
    ("Memory alert: BRK-RDS01 > 95%", ["BRK-RDS01"]),
    ("imaged LT-0240 and joined DESKTOP-7F3K2LQ to the domain", ["LT-0240", "DESKTOP-7F3K2LQ"]),
    ("mapped \\\\srv-fs01\\scans for the user", ["srv-fs01"]),
    ("mail.contoso.example bounced the message", ["mail.contoso.example"]),
    ("pointed dns at dc01.corp.local", ["dc01.corp.local"]),
])
def test_issue4_hosts_are_found(text: str, hosts: list[str]) -> None:
    found_hosts = find_hosts(text)

    assert [h.name for h in found_hosts] == hosts
    assert all(text[h.start:h.end] == h.name for h in found_hosts)


@pytest.mark.parametrize("text", [
    "INC-12345 mentions KB5034441, AADSTS50126, CAA70004, ORA-00942 and NG-KB-0117",
    "WD19S dock, LaserJet M404dn, ThinkPad T14s, error 0x80070005, W10, QB H202",
    "see https://support.microsoft.com/kb/5034441 or mail user@contoso.com",
    "opened setup.exe and report.pdf, SQL2019 and EX2016 installed",
    "version 10.0.19045 with Windows 10 22H2 on 192.168.1.20",
])
def test_issue4_codes_links_and_files_are_not_hosts(text: str) -> None:
    assert find_hosts(text) == []


@pytest.mark.parametrize(("text", "hosts"), [
    ("copied it to \\\\fileserver\\scans", ["fileserver"]),  # no digit, no dot: still a UNC host
    ("DC01 " * 3_000, ["DC01"] * 3_000),
    ("mailed admin@" + "x" * 50_000 + ".com about DC02", ["DC02"]),
])
def test_hosts_need_no_digit_for_unc_and_scale_to_many_and_long_tokens(
        text: str, hosts: list[str]) -> None:
    assert [h.name for h in find_hosts(text)] == hosts


def test_a_giant_token_has_no_hosts() -> None:
    assert find_hosts("x" * 1_000_000) == []
