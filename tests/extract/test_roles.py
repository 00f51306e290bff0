"""Roles by cue rules, on sentences the way technicians and customers really write them."""

from __future__ import annotations

import pytest

from extract.roles import Context, Role, classify, is_closure, label_length

# (segment, who wrote it, the role it must get)
CASES = [
    # symptoms
    ("User reports Outlook keeps prompting for password", Context.TECHNICIAN, Role.SYMPTOM),
    ("cant print to the HP since this morning", Context.DESCRIPTION, Role.SYMPTOM),
    ("getting error 0x80070005 when installing updates", Context.DESCRIPTION, Role.SYMPTOM),
    ("vpn drops every 5 min when i work from home", Context.DESCRIPTION, Role.SYMPTOM),
    ("usr unable to access shared drive", Context.TECHNICIAN, Role.SYMPTOM),
    ("hi, my outlook wont open at all, it just sits on the loading screen",
     Context.CUSTOMER, Role.SYMPTOM),
    ("Start menu not working", Context.DESCRIPTION, Role.SYMPTOM),
    ("Update failed with error 0x80070643", Context.TECHNICIAN, Role.SYMPTOM),
    ("the mapped drive is missing again", Context.CUSTOMER, Role.SYMPTOM),
    # causes
    ("Turned out the OST was corrupt", Context.TECHNICIAN, Role.CAUSE),
    ("root cause: expired cert on the RD gateway", Context.TECHNICIAN, Role.CAUSE),
    ("caused by a stale cred in cred mgr", Context.TECHNICIAN, Role.CAUSE),
    ("issue was b/c the spooler svc was set to manual", Context.TECHNICIAN, Role.CAUSE),
    ("culprit was an old HP universal driver", Context.TECHNICIAN, Role.CAUSE),
    ("looks like the dhcp scope ran out of addresses", Context.TECHNICIAN, Role.CAUSE),
    ("found the user's mailbox was full", Context.TECHNICIAN, Role.CAUSE),
    # actions
    ("remoted in", Context.TECHNICIAN, Role.ACTION),
    ("rdp'd to the server", Context.TECHNICIAN, Role.ACTION),
    ("re-added printer w/ new driver", Context.TECHNICIAN, Role.ACTION),
    ("ran sfc /scannow", Context.TECHNICIAN, Role.ACTION),
    ("Set-Mailbox -Identity jdoe -HiddenFromAddressListsEnabled $false",
     Context.TECHNICIAN, Role.ACTION),
    ("had user reboot and sign back in", Context.TECHNICIAN, Role.ACTION),
    ("gpupdate /force", Context.TECHNICIAN, Role.ACTION),
    ("power cycled the switch", Context.TECHNICIAN, Role.ACTION),
    ("reinstaled office from the portal", Context.TECHNICIAN, Role.ACTION),
    ("I rebuilt her outlook profile", Context.TECHNICIAN, Role.ACTION),
    ("Clear the Teams cache and restart Teams", Context.TECHNICIAN, Role.ACTION),
    ("bounced the print spooler", Context.TECHNICIAN, Role.ACTION),
    ("unlocked acct in ADUC", Context.TECHNICIAN, Role.ACTION),
    ("disabled fast startup", Context.TECHNICIAN, Role.ACTION),
    ("updated the dock firmware b/c the old one drops displays", Context.TECHNICIAN, Role.ACTION),
    # failed
    ("tried clearing the cache but still getting prompted", Context.TECHNICIAN, Role.FAILED),
    ("reinstalled the driver, didn't help", Context.TECHNICIAN, Role.FAILED),
    ("I already restarted my PC twice", Context.DESCRIPTION, Role.FAILED),
    ("we power cycled the modem but no luck", Context.CUSTOMER, Role.FAILED),
    ("rebooted pc still same error", Context.TECHNICIAN, Role.FAILED),
    ("ran the troubleshooter - no change", Context.TECHNICIAN, Role.FAILED),
    # verification
    ("tested send/recv ok", Context.TECHNICIAN, Role.VERIFICATION),
    ("user confirmed she can print now", Context.TECHNICIAN, Role.VERIFICATION),
    ("confirmed working with user", Context.TECHNICIAN, Role.VERIFICATION),
    ("test page printed fine", Context.TECHNICIAN, Role.VERIFICATION),
    ("able to log in now", Context.CUSTOMER, Role.VERIFICATION),
    ("yes that fixed it, thank you!", Context.CUSTOMER, Role.VERIFICATION),
    ("no more prompts since yesterday", Context.CUSTOMER, Role.VERIFICATION),
    ("vpn ok", Context.TECHNICIAN, Role.VERIFICATION),
    # closure
    ("fixed it", Context.TECHNICIAN, Role.CLOSURE),
    ("Fixed.", Context.TECHNICIAN, Role.CLOSURE),
    ("done", Context.TECHNICIAN, Role.CLOSURE),
    ("resolved", Context.TECHNICIAN, Role.CLOSURE),
    ("sorted", Context.TECHNICIAN, Role.CLOSURE),
    ("issue resolved, closing ticket", Context.TECHNICIAN, Role.CLOSURE),
    # other
    ("Called user, left vm", Context.TECHNICIAN, Role.OTHER),
    ("will reboot tonight after hours", Context.TECHNICIAN, Role.OTHER),
    ("can you try restarting it?", Context.TECHNICIAN, Role.OTHER),
    ("waiting on vendor", Context.TECHNICIAN, Role.OTHER),
    ("did not reboot the server, users were working", Context.TECHNICIAN, Role.OTHER),
    ("Open Harbor Food Bank", Context.TECHNICIAN, Role.OTHER),
    ("emailed user for a screenshot", Context.TECHNICIAN, Role.OTHER),
    # long customer mails, lowercase forum posts, abbreviations
    ("I have been having this issue for about two weeks now and it is really affecting my work "
     "because I can't get into the system", Context.DESCRIPTION, Role.SYMPTOM),
    ("rebuilt usr profile b/c it was corrupt", Context.TECHNICIAN, Role.ACTION),
    ("so i restarted it like u said and now it works!!", Context.CUSTOMER, Role.ACTION),
    ("hey guys, my pc is super slow and outlook freezes every time i open an attachment",
     Context.DESCRIPTION, Role.SYMPTOM),
    ("had to remove the ost and let it rebuild", Context.TECHNICIAN, Role.ACTION),
    ("replaced toner, test print good", Context.TECHNICIAN, Role.ACTION),
    ("went onsite and swapped the dock", Context.TECHNICIAN, Role.ACTION),
    ("rdp into ts01 and killed her hung session", Context.TECHNICIAN, Role.ACTION),
    ("pw reset, user logged in ok", Context.TECHNICIAN, Role.ACTION),
    ("this is the 3rd time this week the printer has jammed", Context.CUSTOMER, Role.SYMPTOM),
    ("Please advise", Context.CUSTOMER, Role.OTHER),
    ("thx", Context.CUSTOMER, Role.OTHER),
    ("still happening after the reboot", Context.CUSTOMER, Role.FAILED),
]


@pytest.mark.parametrize(("text", "context", "role"), CASES)
def test_segment_gets_its_role(text: str, context: Context, role: Role) -> None:
    assert classify(text, context=context).primary is role


@pytest.mark.parametrize("text", ["fixed it", "done.", "Resolved", "all good", "sorted",
                                  "ok now", "working now", "issue resolved, closing ticket",
                                  "Fixed - closing"])
def test_bare_closing_notes_are_closures(text: str) -> None:
    assert is_closure(text)
    assert Role.CLOSURE in classify(text).roles


@pytest.mark.parametrize("text", ["fixed the mapped drive letter", "done reinstalling office, "
                                  "user confirms", "rebooted, works now"])
def test_closing_words_with_content_are_not_bare_closures(text: str) -> None:
    assert not is_closure(text)
    assert Role.CLOSURE not in classify(text).roles


def test_a_state_closing_note_also_counts_as_a_check() -> None:
    assert classify("ok now").roles == {Role.CLOSURE, Role.VERIFICATION}
    assert classify("done").roles == {Role.CLOSURE}


def test_a_bare_failure_is_marked_as_about_the_step_before() -> None:
    result = classify("no luck")

    assert result.followup
    assert result.primary is Role.FAILED


def test_a_step_and_its_outcome_in_one_clause_carry_both_roles() -> None:
    assert classify("rebooted and it works now").roles == {Role.ACTION, Role.VERIFICATION}
    assert classify("rebuilt usr profile b/c it was corrupt").roles == {Role.ACTION, Role.CAUSE}


def test_the_same_words_read_differently_by_who_wrote_them() -> None:
    text = "restarted my laptop twice"

    assert classify(text, context=Context.DESCRIPTION).primary is Role.FAILED
    assert classify("restarted the laptop", context=Context.TECHNICIAN).primary is Role.ACTION


def test_labels_steer_the_role() -> None:
    assert classify("Cause: expired certificate").primary is Role.CAUSE
    assert classify("Issue: printer offline").primary is Role.SYMPTOM
    assert classify("Resolution:").primary is Role.OTHER


@pytest.mark.parametrize(("text", "length"), [
    ("Resolution: rebuilt the profile", len("Resolution: ")),
    ("Root cause - expired cert", len("Root cause - ")),
    ("fix=cleared cache", len("fix=")),
    ("Resolution", 0),  # a bare label is no label: nothing would be left
    ("Resolution:", 0),
    ("Resolution\n", 0),
    ("rebuilt the profile", 0),
    ("Issue-tracker sync fixed", 0),  # "-" not followed by a space
])
def test_label_length(text: str, length: int) -> None:
    assert label_length(text) == length
