"""Cleaning: HTML to text, e-mail noise removed, and every cleaned span maps back home."""

from __future__ import annotations

import html
import re

import pytest

from extract.clean import CleanText, clean_text, html_to_text, looks_like_html

OUTLOOK_HTML = (
    "<html><head><style>p {margin:0}</style><title>x</title></head><body>"
    "<p>Hi team,</p>"
    "<p>Outlook keeps asking for my password &amp; won&#39;t send.&nbsp;I restarted twice.</p>"
    "<p>Thanks,<br>Jane Doe<br>Office Manager | Contoso<br>P: (410) 555-0123</p>"
    "<p>CONFIDENTIALITY NOTICE: This email and any attachments are confidential and intended "
    "only for the named recipient.</p>"
    '<div class="gmail_quote">On Mon, Jan 8, 2024 at 9:14 AM Help Desk &lt;help@msp.example&gt;'
    " wrote:<blockquote>Have you tried turning it off and on again?</blockquote></div>"
    "<script>alert(1)</script></body></html>"
)


def words_map_home(clean: CleanText, original: str) -> None:
    """Every word of the cleaned text maps to a span of the original that reads the same."""
    for match in re.finditer(r"[A-Za-z0-9']+", clean.text):
        start, end = clean.original_span(*match.span())
        assert html.unescape(original[start:end]) == match.group()


def test_html_email_keeps_only_the_message() -> None:
    clean = clean_text(OUTLOOK_HTML)

    assert clean.text == (
        "Hi team,\n\nOutlook keeps asking for my password & won't send. I restarted twice."
    )


def test_html_offsets_point_at_the_original_characters() -> None:
    clean = clean_text(OUTLOOK_HTML)

    words_map_home(clean, OUTLOOK_HTML)
    amp = clean.text.index("&")
    start, end = clean.original_span(amp, amp + 1)
    assert OUTLOOK_HTML[start:end] == "&amp;"
    sentence = clean.text.index("Outlook")
    start, end = clean.original_span(sentence, sentence + len("Outlook keeps asking"))
    assert OUTLOOK_HTML[start:end] == "Outlook keeps asking"


def test_a_span_over_tags_covers_the_tags() -> None:
    original = "<p>Rebooted the <b>print spooler</b> and it works</p>"
    clean = clean_text(original)
    start = clean.text.index("Rebooted")
    end = clean.text.index("spooler") + len("spooler")

    orig_start, orig_end = clean.original_span(start, end)

    assert original[orig_start:orig_end] == "Rebooted the <b>print spooler"


def test_plain_text_without_noise_is_unchanged_and_maps_one_to_one() -> None:
    original = "remoted in, cleared cred mgr,  rebuilt ost.\ntested send/recv ok"
    clean = clean_text(original)

    assert clean.text == original
    assert clean.original_span(12, 28) == (12, 28)


def test_signature_with_sign_off_is_removed() -> None:
    original = ("The label printer says offline again.\n\nThanks,\nKim Tran\nPractice Manager\n"
                "Maplewood Family Clinic\n(410) 555-0171")

    assert clean_text(original).text == "The label printer says offline again."


def test_signature_block_without_sign_off_is_removed() -> None:
    original = ("Thanks Dave, everyone is back in.\n\nAnita Shah\nOffice Manager\n"
                "Ledgerline CPAs\n(443) 555-0150")

    assert clean_text(original).text == "Thanks Dave, everyone is back in."


def test_a_closing_line_that_says_something_is_kept() -> None:
    original = "Cleared the cache for her.\nthanks it works now"

    assert clean_text(original).text == original


def test_outlook_reply_header_cuts_the_older_message() -> None:
    original = ("Still broken after the reboot.\n\nSent from my iPhone\n\n"
                "-----Original Message-----\nFrom: Help Desk <help@msp.example>\n"
                "Sent: Monday, January 8, 2024 9:02 AM\nSubject: RE: printer\n\nPlease reboot.")
    clean = clean_text(original)

    assert clean.text == "Still broken after the reboot."
    words_map_home(clean, original)


def test_from_sent_block_without_original_message_marker_is_cut() -> None:
    original = ("Yes that fixed it, thank you!\n________________________________\n"
                "From: Sam Tech <sam@msp.example>\nSent: Tuesday, May 7, 2024 10:01 AM\n"
                "To: Anita Shah\nSubject: RE: [T-1001] Outlook\n\nCan you try now?")

    assert clean_text(original).text == "Yes that fixed it, thank you!"


def test_quoted_lines_and_dash_dash_signature_are_removed() -> None:
    original = ("> Can you try again?\nTried again, same error.\n> old line\n-- \n"
                "Bob | Contoso")

    assert clean_text(original).text == "Tried again, same error."


def test_forwarded_mail_keeps_what_was_forwarded() -> None:
    original = ("---------- Forwarded message ---------\nFrom: Bob Smith\nDate: Mon, Jan 8\n"
                "Subject: VPN\nTo: Help Desk\n\nVPN won't connect from home since Friday.")

    assert clean_text(original).text == "VPN won't connect from home since Friday."


def test_mail_pasted_with_its_header_at_the_top_keeps_the_message() -> None:
    original = ("From: Jane Doe <jane@contoso.example>\nSent: Monday, March 4, 2024 8:12 AM\n"
                "To: help@msp.example\nSubject: printer\n\nThe printer is jammed again.")

    assert clean_text(original).text == "The printer is jammed again."


def test_html_blocks_become_lines_and_lists_become_bullets() -> None:
    clean = html_to_text("<div>Steps:</div><ul><li>rebooted</li><li>cleared queue</li></ul>"
                         "line one<br/>line two")

    assert clean.text == "Steps:\n\n- rebooted\n- cleared queue\nline one\nline two"


def test_entities_alone_are_decoded_without_touching_line_breaks() -> None:
    original = "AT&amp;T circuit down\nISP ticket opened"
    clean = clean_text(original)

    assert clean.text == "AT&T circuit down\nISP ticket opened"
    start = clean.text.index("ISP")
    assert original[slice(*clean.original_span(start, start + 3))] == "ISP"


def test_html_detection_ignores_a_stray_angle_bracket() -> None:
    assert looks_like_html("<p>hi</p>")
    assert not looks_like_html("disk < 5% free, ping -> timeout")


def test_removing_a_region_keeps_later_offsets_right() -> None:
    original = "keep this. DROP THAT. keep too"
    clean = CleanText.identity(original).without([(11, 22)])

    assert clean.text == "keep this. keep too"
    start = clean.text.index("too")
    assert clean.original_span(start, start + 3) == (original.index("too"),
                                                     original.index("too") + 3)


def test_spans_outside_the_text_are_refused() -> None:
    clean = clean_text("short")

    with pytest.raises(ValueError, match="outside"):
        clean.original_span(2, 40)


def test_empty_text_cleans_to_empty() -> None:
    clean = clean_text("")

    assert clean.text == ""
    assert clean.original_span(0, 0) == (0, 0)
