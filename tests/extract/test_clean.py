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


def assert_cleaned_to(original: str, expected: str) -> None:
    """The note cleans to `expected`, and each of its words maps back to the same original word."""
    clean = clean_text(original)

    assert clean.text == expected
    words_map_home(clean, original)


@pytest.mark.parametrize(("original", "expected"), [
    ("##- Please type your reply above this line -##\n\nThe VPN drops every hour.",
     "The VPN drops every hour."),
    ("The VPN drops every hour.\n\n##- Please reply above this line -##\nSam Tech (MSP)\n"
     "Jan 8, 09:14\nHave you rebooted?", "The VPN drops every hour."),
    ("This ticket has been updated by Sam Tech.\n\nRebooted the firewall, tunnel is up.",
     "Rebooted the firewall, tunnel is up."),
    ("Rebooted the firewall, tunnel is up.\n\nTo add additional comments, reply to this email.",
     "Rebooted the firewall, tunnel is up."),
    ("Your request (#12345) has been received and is being reviewed by our support staff.\n\n"
     "Printer offline in the front office.", "Printer offline in the front office."),
    ("Printer offline.\n\nYou are receiving this email because you are a contact on this ticket."
     "\nThis is an automated message, please do not reply.", "Printer offline."),
    ("This ticket was automatically created by N-able RMM.\n"
     "Alert: Disk C: below 10% free on SRV01.", "Alert: Disk C: below 10% free on SRV01."),
    ("Ticket created automatically by Datto RMM monitor.\nDisk C: low on SRV01",
     "Disk C: low on SRV01"),
])
def test_ticket_system_and_rmm_boilerplate_is_removed(original: str, expected: str) -> None:
    assert_cleaned_to(original, expected)


@pytest.mark.parametrize("tag", ["[Ticket #12345]", "[#12345]", "[Case 00123]",
                                 "[T20240101.0001]", "[EXTERNAL]", "[INC-0042]"])
def test_subject_tags_are_cut_from_titles_and_notes(tag: str) -> None:
    title = f"RE: {tag} Printer offline"
    clean = clean_text(title, email=False)

    assert clean.text == "RE: Printer offline"
    start = clean.text.index("Printer")
    assert title[slice(*clean.original_span(start, start + 7))] == "Printer"


def test_a_bracketed_reference_that_is_not_a_tag_is_kept() -> None:
    original = "See step [1] and [note] above; error [0x80070005] again."

    assert clean_text(original, email=False).text == original


@pytest.mark.parametrize("marker", [
    "---------- Forwarded message ---------",
    "-------- Forwarded Message --------",
    "-----Forwarded Message-----",
    "Begin forwarded message:",
])
def test_forward_headers_go_but_what_was_forwarded_stays(marker: str) -> None:
    original = (f"Can you look at this?\n\n{marker}\nFrom: Bob Smith <bob@contoso.example>\n"
                "Sent: Monday, January 8, 2024 9:14 AM\nTo: Help Desk <help@msp.example>\n"
                "Subject: VPN\n\nVPN won't connect from home since Friday.")
    clean = clean_text(original)

    assert "Can you look at this?" in clean.text
    assert "VPN won't connect from home since Friday." in clean.text
    assert "From:" not in clean.text
    assert "Forward" not in clean.text
    words_map_home(clean, original)


@pytest.mark.parametrize("header", [
    "From: Sam Tech [mailto:sam@msp.example]\nSent: Tuesday, May 7, 2024 10:01 AM\nTo: Anita\n"
    "Subject: RE: printer",
    "From: Sam Tech <sam@msp.example>\nDate: Tue, 7 May 2024 10:01\nTo: Anita\nCc: Ops\n"
    "Subject: RE: printer",
    "*From:* Sam Tech\n*Sent:* Tuesday, May 7, 2024 10:01 AM\n*To:* Anita\n*Subject:* printer",
    "On Tue, May 7, 2024 at 10:01 AM Sam Tech <sam@msp.example> wrote:",
])
def test_reply_header_variants_cut_the_older_message(header: str) -> None:
    original = f"Works now, thanks.\n\n{header}\n\nCan you try again now?"

    assert_cleaned_to(original, "Works now, thanks.")


def test_an_address_in_angle_brackets_is_not_mistaken_for_html() -> None:
    original = "Mail from <b.smith@contoso.example> and <a@x.example> bounces.\nSince Monday."

    assert clean_text(original).text == original


def test_a_lone_outlook_separator_line_is_removed() -> None:
    assert_cleaned_to("Works now.\n\n________________________________\n", "Works now.")


@pytest.mark.parametrize("signature", [
    "Sent from my iPhone", "Sent from my Galaxy", "Sent from my Samsung Galaxy smartphone.",
    "Sent from Outlook for Android", "Get Outlook for Android",
    "Get Outlook for iOS<https://aka.ms/o0ukef>", "Sent from Mail for Windows",
    "Sent via BlackBerry",
])
def test_mobile_signatures_are_removed(signature: str) -> None:
    assert_cleaned_to(f"Still broken after the reboot.\n\n{signature}",
                      "Still broken after the reboot.")


@pytest.mark.parametrize("disclaimer", [
    "CONFIDENTIALITY NOTICE: This email and any attachments are confidential.",
    "This e-mail and any files transmitted with it are confidential and intended solely for\n"
    "the use of the individual to whom they are addressed.",
    "NOTICE: This communication may contain privileged or other confidential information.",
    "The contents of this email message and any attachments are intended solely for the "
    "addressee(s).",
    "If you received this in error, please notify the sender and delete it.",
    "Privileged and confidential. Do not forward.",
])
def test_confidentiality_disclaimers_are_removed(disclaimer: str) -> None:
    assert_cleaned_to(f"Still broken after the reboot.\n\n{disclaimer}",
                      "Still broken after the reboot.")


@pytest.mark.parametrize("banner", [
    "CAUTION: This email originated from outside of the organization. Do not click links or "
    "open attachments unless you recognize the sender and know the content is safe.",
    "CAUTION: This email originated from outside of the organization.\nDo not click links or "
    "open attachments unless you recognize the sender and know the content is safe.",
    "[EXTERNAL EMAIL] Use caution when clicking links.",
    "This message was sent from an external sender.",
    "You don't often get email from bob@contoso.example. Learn why this is important",
])
def test_external_sender_banners_go_and_the_message_under_them_stays(banner: str) -> None:
    assert_cleaned_to(f"{banner}\nThe printer is offline.", "The printer is offline.")


def test_tracking_pixel_only_html_cleans_to_nothing() -> None:
    original = ('<html><body><img src="https://track.example/p.gif?u=1" width="1" height="1">'
                "</body></html>")

    assert clean_text(original).text == ""


def test_html_entities_decode_and_map_to_the_entity() -> None:
    original = "<p>disk &lt; 5% &amp; &quot;C:&quot; &eacute;t&eacute; &#x2019; &hellip;</p>"
    clean = clean_text(original)

    assert clean.text == 'disk < 5% & "C:" été ’ …'
    lt = clean.text.index("<")
    assert original[slice(*clean.original_span(lt, lt + 1))] == "&lt;"


def test_br_breaks_a_line_and_p_breaks_a_paragraph() -> None:
    assert html_to_text("<p>one</p><p>two</p>line<br>three").text == "one\n\ntwo\nline\nthree"


@pytest.mark.parametrize("table", [
    "<table><tr><td>Host</td><td>Status</td></tr><tr><td>SRV01</td><td>down</td></tr></table>",
    "<table><tr><td>Host<td>Status<tr><td>SRV01<td>down</table>",
])
def test_table_cells_are_separated_and_rows_are_lines(table: str) -> None:
    clean = html_to_text(table)

    lines = [line for line in clean.text.split("\n") if line]
    assert lines == ["Host Status", "SRV01 down"]
    words_map_home(clean, table)


def test_list_items_are_bullets_even_when_wrapped_in_paragraphs() -> None:
    clean = html_to_text("<ol><li>reboot<li>clear queue</ol><ul><li><p>test print</p></li></ul>")

    assert [line for line in clean.text.split("\n") if line] == [
        "- reboot", "- clear queue", "- test print"]


def test_runs_without_a_space_over_the_limit_are_dropped_and_the_map_still_points_home() -> None:
    from extract.clean import MAX_TOKEN_CHARS

    kept = "k" * MAX_TOKEN_CHARS
    text = f"printer offline {'Q' * (MAX_TOKEN_CHARS + 1)} rebooted spooler {kept}"

    clean = clean_text(text)

    assert "Q" not in clean.text
    assert kept in clean.text  # a run at the limit stays
    start = clean.text.index("rebooted")
    orig_start, orig_end = clean.original_span(start, start + len("rebooted spooler"))
    assert text[orig_start:orig_end] == "rebooted spooler"


@pytest.mark.parametrize("signature", ["Thanks,\nJane Doe", "Thanks,\nJosé Doe", "THANKS,\nJane"])
def test_sign_offs_are_cut_in_ascii_and_non_ascii_notes(signature: str) -> None:
    clean = clean_text(f"Printer offline since monday.\n\n{signature}")

    assert clean.text == "Printer offline since monday."


@pytest.mark.parametrize(("source", "expected"), [
    ("<p> a</p>&nbsp; b <b>c</b> d", "a\nb c d"),
    ("<td>x</td> <td> y</td>", "x y"),
    ("a &nbsp b", "a  b"),
    ("<br> <br>  z", "z"),
])
def test_a_lone_space_after_a_break_or_a_space_is_dropped_and_kept_between_words(
        source: str, expected: str) -> None:
    clean = html_to_text(source)

    assert clean.text == expected
    for start in range(len(clean.text)):
        orig_start, orig_end = clean.original_span(start, start + 1)
        if clean.text[start].isalpha():
            assert source[orig_start:orig_end] == clean.text[start]
