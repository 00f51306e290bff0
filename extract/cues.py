"""Cue patterns the role rules read: how symptoms, causes, failures and checks are written.

All patterns are compiled once at import, case-insensitive, and written against `normalise`d text
(lowercase, straight apostrophes, single spaces). Patterns meant for ``.match(text, pos)`` carry
no "^": with a start position, "^" would only match at the start of the whole string.
"""

from __future__ import annotations

from extract.patterns import CasePattern

__all__ = [
    "ADJECTIVAL",
    "BASE_BLOCKERS",
    "CAUSE_BECAUSE",
    "CAUSE_FOUND",
    "CAUSE_STATE",
    "CAUSE_STRONG",
    "CHECK_VERB",
    "COMMAND",
    "CONFIRMED",
    "CUSTOMER_ATTEMPT",
    "FAILURE",
    "FIRST_PERSON",
    "INSTRUCTED",
    "LABEL",
    "LABEL_ROLES",
    "LEAD",
    "NEGATED_START",
    "NOT_DONE",
    "NOUN_PHRASE_NEXT",
    "ONGOING_NEXT",
    "PASSIVE_DETERMINER",
    "PASSIVE_SUBJECT",
    "PASSIVE_THING",
    "SHORT_OK",
    "SUCCESS",
    "SYMPTOM_STRONG",
    "SYMPTOM_WEAK",
    "TRIED",
    "VERIFY",
]


def _rx(pattern: str, *gate: str) -> CasePattern:
    """A cue; `gate` lists literals one of which every match contains (see `CasePattern`)."""
    return CasePattern(pattern, gate=gate)


LABEL = _rx(
    r"^(?P<label>resolution|fix|solution|actions?(?: taken)?|steps?(?: taken)?|work (?:done|"
    r"performed)|root cause|cause|reason|issue|problem|symptoms?|error|verification|result"
    r"|notes?|update|summary|status|outcome|diagnosis|findings?)\s*(?:[:=]|-(?=\s)|$)\s*"
)
LABEL_ROLES = {
    "root cause": "cause", "cause": "cause", "reason": "cause", "diagnosis": "cause",
    "issue": "symptom", "problem": "symptom", "symptom": "symptom", "symptoms": "symptom",
    "error": "symptom", "verification": "verification",
}
LEAD = _rx(
    r"^(?:(?:i|we|i've|ive|we've|weve|i have|we have|have|has|tech|technician|then|and|also|so"
    r"|next|first|firstly|finally|lastly|after that|afterwards?|once done|just|quickly"
    r"|successfully|manually|remotely|again|ok|okay|proceeded to|went ahead and|was able to"
    r"|were able to|managed to|already|even|previously|earlier|originally|initially|both"
    r"|personally|fyi|\d{1,2}[:.]\d{2}\s*(?:am|pm)?|[-*•>]+|\d+[.)])[\s,:-]+)+"
)
FIRST_PERSON = _rx(r"\b(?:i|we|i've|ive|we've|weve|my|our|me|us|i'm|im|already)\b")
# A customer's own attempt: "I already restarted twice", "we power cycled it but ..."
CUSTOMER_ATTEMPT = _rx(
    r"\b(?:already|tried|twice|again|several times|multiple times|a few times|couple of times"
    r"|but|still|didn'?t|doesn'?t|same)\b|\b(?:restart|reboot|power ?cycl|turn(?:ed)? (?:it )?off"
    r"|unplug|re-?install|clear|log(?:ged)? (?:off|out)|sign(?:ed)? out|reset)"
)
INSTRUCTED = _rx(
    r"(?:had|asked|told|instructed|advised|got|helped|walked|guided|showed|assisted|talked)"
    r"\s+(?:the\s+)?(?:user|usr|client|customer|caller|her|him|them|staff|end user|[a-z]+)"
    r"(?:\s+(?:to|through|with|how to|on how to))?\s+(?!try\b|attempt\b|call\b|let\b|send\b)"
)
COMMAND = _rx(
    r"(?:ran |run |executed |via )?(?:gpupdate|ipconfig|sfc|dism|chkdsk|netsh|nslookup|tracert"
    r"|robocopy|winget|choco|msiexec|powershell|regedit|gpresult|repadmin|dcdiag|klist|vssadmin"
    r"|net (?:stop|start|use|user)|(?:set|get|add|remove|new|enable|disable|reset|start|stop"
    r"|restart|update|install|uninstall|clear|repair|test|invoke|connect|grant|revoke)-[a-z]+)\b"
)
NOUN_PHRASE_NEXT = _rx(
    r"\S+\s+(?:is|are|was|were|isn't|aren't|wasn't|not|won't|doesn't|keeps?|missing"
    r"|disappeared|gone|failing|fails|showing|shows)\b"
)
# "shared mailbox not showing", "mapped drives missing": a participle used as an adjective.
ADJECTIVAL = _rx(
    r"(?:shared|mapped|scheduled|cached|installed|connected|managed|locked|printed|scanned"
    r"|forwarded|deleted|archived|synced|signed|encrypted|saved|stored|attached|hidden)\s+"
    r"(?:mailbox(?:es)?|calendars?|drives?|folders?|tasks?|printers?|mode|credentials|creds"
    r"|profiles?|accounts?|items?|files?|documents?|apps?|programs?|devices?|e-?mails?"
    r"|messages?|users?|network|printer)\s+(?:is|are|was|were|isn't|aren't|not|won't|keeps?"
    r"|missing|shows?|showing|disappeared|gone|also|too|cached|still|no longer)\b"
)
# After "started"/"stopped"/"kept": "started getting errors" is a symptom, not a step.
ONGOING_NEXT = _rx(r"\s+(?:\w+ing|to|happening|again|this|last|yesterday|today|on|around|after"
                   r"|since|about|when|at|by|because|randomly|suddenly|\d)\b|\s*$")
BASE_BLOCKERS = _rx(
    r"\s*(?:failed|fails|failing|is|was|were|are|has|had|required|needed|pending|error|errors"
    r"|issue|issues|problem|of|for|not|keeps|won't|doesn't|menu|button|bar|page|window|screen"
    r"|icon|desktop|app|option|settings?|job|jobs|log|logs|status|still|again|works|working"
    r"|ok|fine)\b|\s*[:\-]"
)
NOT_DONE = _rx(
    r"\b(?:will|gonna|going to|need to|needs to|needed to|have to|has to|should|plan to"
    r"|planning to|want to|wants to|would like|trying to|try to|please|pls|can you|could you"
    r"|would you|let me know|lmk|waiting (?:on|for)|awaiting|pending|scheduled? (?:for|a|to)"
    r"|tomorrow|tonight|next week|if (?:this|that|it) (?:doesn't|does not|fails))\b"
    r"|\?\s*$",
    "will", "gonna", "going to", "need", "have to", "has to", "should", "plan", "want", "would",
    "try", "please", "pls", "can you", "could you", "let me know", "lmk", "waiting", "pending",
    "schedule", "tomorrow", "tonight", "next week", "if ", "?",
)
CONFIRMED = _rx(r"\b(?:confirmed|confirms|verified|tested)\b", "confirm", "verified", "tested")
CHECK_VERB = _rx(r"^(?:test|verif|confirm|check|re-?test|double.?check|ping)")
NEGATED_START = _rx(r"(?:did not|didn't|didnt|do not|don't|dont|never|no need to|not|without"
                    r"|nothing|no one|nobody|haven't|have not)\b")
FAILURE = _rx(
    r"\b(?:didn'?t|did not|does not|doesn'?t|has not|hasn'?t|wasn'?t|was not)\s+(?:help|fix|work"
    r"|resolve|change|make a difference|do anything|solve|clear|stick)\w*"
    r"|\bno (?:luck|joy|dice|change|difference|improvement|success|go)\b|\bnot fixed\b"
    r"|\bmade no difference\b|\bto no avail\b|\bwithout (?:success|luck)\b"
    r"|\b(?:was|were) unsuccessful\b|\bfailed again\b|\bpersists\b"
    r"|\bsame (?:error|issue|problem|result|thing|behaviou?r|prompt|symptoms?)\b"
    r"|\b(?:issue|problem|error|prompt|symptom)s? (?:persists?|remains?|continues?|returned"
    r"|came back|reoccurred|recurred|is back)\b"
    r"|\bstill (?:not|no|doesn'?t|does not|can'?t|cant|cannot|won'?t|wont|isn'?t|getting|gets"
    r"|having|seeing|failing|fails|failed|broken|the same|same|an issue|happening|occurring"
    r"|erroring|crashing|crashes|freezing|prompting|down|slow|showing|stuck|unable|there"
    r"|prompts|asking|popping|bouncing|dropping|disconnecting|offline|blank|hangs?|hanging"
    r"|says|said|eating)\b"
    r"|\bstill\b(?:\s+\S+){0,3}?\s+(?:denied|errors?|fail\w*|not|no|can'?t|cannot|won'?t|broken)\b"
    r"|\b(?:that|this|it) (?:wasn'?t|was not) (?:it|the (?:issue|cause|problem|fix))\b"
    r"|\b(?:stops|stopped|crashes|crashed|fails|dies|died|drops|dropped|froze|freezes|hangs"
    r"|errors?|came|comes|pops?|popped|prompts?|prompted) (?:back )?(?:up )?again\b"
    r"|\b(?:came|comes|pops|popped) back\b",
    "help", "fix", "work", "solve", "change", "make", "anything", "clear", "stick", "no ",
    "without", "unsuccessful", "again", "persist", "same ", "remain", "continue", "returned",
    "back", "curred", "still", "was",
)
TRIED = _rx(r"^(?:tried|try(?:ing)?|attempted|attempt(?:ing)?|tries)\b|\b(?:have|had|already)"
            r"\s+tried\b|\btried\b", "tr", "attempt")
SUCCESS = _rx(
    r"\b(?:worked|works|fixed|resolved|solved|sorted|success(?:ful(?:ly)?)?|cleared up"
    r"|did the trick|took care of)\b|(?<!\bthe )(?<!\ba )\bworking\b",
    "work", "fixed", "solved", "sorted", "success", "cleared up", "did the trick", "took care of",
)
VERIFY = _rx(
    r"\bconfirm(?:ed|s|ing)?\b|\bverified (?:(?:that|with|it|user|they|she|he|all|mail|working"
    r"|fixed|resolved|ok|good)\b|.{0,40}\b(?:ok|good|fine|working|works|success))"
    r"|\btest(?:ed|ing)?\b.{0,40}\b(?:ok|good|fine|successful(?:ly)?|pass(?:ed)?|works?|working"
    r"|fixed|resolved)\b|\btest (?:print|page|email|e-mail|call|message|login|connection)s?\b"
    r"|\b(?:is|are|now|all|everything|back|it's|its)\s+(?:now\s+)?(?:working|functional"
    r"|functioning|fine|ok|okay|connected|syncing|printing|online|up|good|normal|stable)\b"
    r"|\bworks?\s+(?:now|again|fine|great|perfectly|as expected|properly|correctly|ok)\b"
    r"|\bworking\s+(?:now|again|fine|properly|correctly|as expected|normally|ok)\b"
    r"|\bnow\s+(?:working|works|able|prints?|connects?|syncs?|loads?|opens?|launch(?:es)?"
    r"|shows|sees|receiving|sending|printing|syncing|connecting|loading)\b"
    r"|\bable to \w+(?:\s+\w+)?\s+(?:now|again|fine|successfully|without)\b"
    r"|\b(?:send|recv|receive|send/recv|send/receive|s/r|mail ?flow|printing|print|sync"
    r"|login|log ?in|connection|vpn|rdp|audio|sound|calls?|access)\W{0,3}(?:\w+\W{1,3}){0,2}"
    r"(?:ok|good|fine|working|successful(?:ly)?|passed)\b"
    r"|\b(?:that|this|which|it|reboot|restart|update|change)\s+(?:fixed|resolved|solved|did"
    r"|worked|sorted|cleared|corrected)\b|\bback (?:up|online|to normal|in business)\b"
    r"|\b(?:is|are|'s|everyone|everybody|all|they're|she's|he's|we're)\s+(?:now\s+)?back in\b"
    r"|\bsuccess\b"
    r"|\buser (?:is )?(?:happy|satisfied|can now|is now able|able to|reports? (?:it'?s )?"
    r"(?:working|fixed|resolved|all good))|\bno (?:more|further) (?:errors?|issues?|prompts?"
    r"|problems?|crash(?:es)?|pop-?ups?)\b|\b(?:issue|error|problem)s? (?:is |are |has )?"
    r"(?:gone|cleared|went away|resolved|fixed)\b|\bsuccessful(?:ly)?\b|\bperfect\b"
    r"|\bno (?:drops|lockouts?|prompts|disconnects|crashes|errors)\b"
    r"|\bnow (?:it|that|everything|all|she|he|they) (?:works|is working|prints|connects|syncs"
    r"|loads|opens|can)\b|\b(?:it|that|this) (?:works|worked)(?: now| again| great| fine"
    r"| perfectly)?\W*$"
)
# "access ok", "printing fine now": a short segment that is nothing but a check.
SHORT_OK = _rx(r"^(?!.*\b(?:not|no|never|isn't|isnt|aren't|won't|can't)\b)"
               r"[\w/.-]+(?:\s+[\w/.-]+){0,2}\s+(?:ok|okay|good|fine|working|works)(?:\s+now)?$",
               "ok", "good", "fine", "work")
CAUSE_STRONG = _rx(
    r"\bcaused by\b|\b(?:the )?(?:root )?cause (?:was|is|of|being|appears)\b|\broot cause"
    r"|\bwas causing\b|\bwere causing\b|\bcausing (?:the|this|it|issues?|problems?)\b"
    r"|\bdue to\b|\bturn(?:ed|s) out\b|\bwas because\b|\bculprit\b"
    r"|\b(?:the )?(?:issue|problem|error) (?:was|is|seems to be|appears to be|turned out)\b"
    r"|\bit was (?:the|a|an)\b|\bwas the (?:issue|problem|cause|reason)\b|\bthe reason\b"
    r"|\bas a result of\b|\bresult(?:ed|ing)? from\b|\bstem(?:med|s)? from\b"
    r"|\btraced (?:it |this |the issue )?(?:back )?to\b|\bnarrowed (?:it )?down to\b"
    r"|\bmust have\b|\bknown (?:issue|bug)\b",
    "caus", "due to", "turn", "because", "culprit", "issue", "problem", "error", "it was",
    "was the", "reason", "result", "stem", "traced", "narrowed", "must have", "known",
)
# "because" explains in a technician's note; in a customer's it usually explains the impact.
CAUSE_BECAUSE = _rx(r"\bbecause\b|\bb/c\b|\bbc\b|\bcuz\b|\bsince (?:the|it|its|it's)\b",
                    "because", "b/c", "bc", "cuz", "since ")
# "pw reset", "ost rebuilt", "the spooler restarted": a thing, then what was done to it.
_NOT_A_THING = (r"(?!(?:user|usr|users|she|he|they|i|we|it|its|it's|that|this|which|yes|no|ok"
                r"|okay|so|and|then|just|also|now|all|everything|nothing|able|to|customer|client"
                r"|caller|everyone|nobody|someone|staff|tech|was|is|has|had|have)\b)")
# Its parts, each one word: `extract.roles` reads a subject token by token from them.
PASSIVE_DETERMINER = r"(?:the|her|his|their|users?'?s?|usr'?s?)"
PASSIVE_THING = rf"{_NOT_A_THING}[a-z0-9][\w/.'-]*"
PASSIVE_SUBJECT = _rx(rf"(?:{PASSIVE_DETERMINER}\s+)?{PASSIVE_THING}(?:\s+{PASSIVE_THING})?\s+")
CAUSE_FOUND = _rx(
    r"\b(?:looks|looked|seems|seemed|appears|appeared) (?:like|to be|that)\b"
    r"|\bfound (?:that|the|a|an|out|it|his|her|their|user'?s?|old|stale)\b|\bnoticed (?:that|the)\b"
    r"|\b(?:prob(?:ably)?|likely|most likely|suspect(?:ed)?|i think)\b",
    "look", "seem", "appear", "found", "noticed", "prob", "likely", "suspect", "i think",
)
CAUSE_STATE = _rx(
    r"\b(?:was|were|had|has|is) (?:been )?(?:corrupt(?:ed)?|expired|full|disabled|missing"
    r"|misconfigured|outdated|out of date|stale|locked(?: out)?|offline|unplugged|wrong"
    r"|incorrect|set to|pointing to|pointed at|filled up|blocked|cached|duplicated|removed"
    r"|deleted|revoked|stopped|manual)\b|\bcorrupt(?:ed|ion)?\b|\bconflict(?:ing|s)?\b"
    r"|\bmisconfigur",
    "was", "were", "had", "has", "is ", "corrupt", "conflict", "misconfigur",
)
SYMPTOM_STRONG = _rx(
    r"\b(?:user|usr|users|client|customer|caller|she|he|they|staff|employee|everyone|nobody"
    r"|multiple users|end user)\s+(?:reports?|reported|says?|said|states?|stated|called"
    r"|is having|are having|was having|having|can'?t|cannot|unable|is unable|are unable"
    r"|getting|gets|receiving|sees?|seeing|complain(?:s|ed|ing)?)\b"
    r"|\b(?:can'?t|cannot|can not|cant|unable to|not able to|couldn'?t|could not|won'?t|wont"
    r"|doesn'?t|doesnt|does not|isn'?t|isnt|aren'?t|not)\s+(?:be\s+)?(?:\w+\s+){0,2}?"
    r"(?:work|working|open|opening|load|loading|connect|connecting|print|printing|sync|syncing"
    r"|send|sending|receive|receiving|log ?in|login|sign ?in|access|start|starting|boot"
    r"|booting|respond|responding|launch|launching|save|saving|see|find|detect|recogni[sz]e"
    r"|show|showing|turn on|power on|charge|charging|display|play|hear|scan|scanning|enroll"
    r"|install|update|get|reach|join|register|delete|post|run)\w*\b"
    r"|\bfail(?:s|ed|ing)? (?:with|to|on|at|during|after)\b|\bfailure\b"
    # One word, then several: `extract.roles` decides the one-word branch from a segment's
    # words alone (`TokenGates.exact`), without running it.
    r"|\b(?:error|errors|err|crash(?:es|ed|ing)?|freez(?:e|es|ing)|froze|frozen|hangs|hung"
    r"|stuck|slow(?:ness)?|sluggish|laggy|lagging|keeps?|kept|broken|outage|offline"
    r"|disconnect(?:s|ed|ing)?|drops|dropping|intermittent(?:ly)?"
    r"|bsod|missing|disappeared|lockout"
    r"|popup|spinning|jam(?:med|s)?|garbled|bounc(?:es|ed|ing|eback)|rejected|denied"
    r"|constantly|repeatedly|unsuccessful|lost)\b"
    r"|\b(?:black screen|blue screen|locked out|prompt(?:s|ing|ed)? for|pop(?:s|ping)? up"
    r"|boot ?loop|time(?:d)? ?out|not responding|nothing happens|over and over"
    r"|on its own|by itself|no (?:internet|connection|sound|audio|signal|power|dial tone"
    r"|display|access|network|wifi|email))\b"
)
SYMPTOM_WEAK = _rx(
    r"\b(?:fail(?:s|ed|ing|ure)?|issues?|problems?|trouble|down|expired|blank|again"
    r"|since (?:this morning|yesterday|monday|tuesday|wednesday|thursday|friday|last|the)"
    r"|all of a sudden|randomly|suddenly|not)\b",
    "fail", "issue", "problem", "trouble", "down", "expired", "blank", "again", "since ",
    "all of a sudden", "randomly", "suddenly", "not",
)
