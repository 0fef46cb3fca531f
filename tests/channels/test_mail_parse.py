"""Parsing raw mail and making its text readable and safe, without the database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from channels.mail_parse import Unparseable, parse
from channels.mail_text import html_to_text, sanitize_html, trim_reply


def _raw(headers: str, body: bytes = b"Hallo\n", *, crlf: bool = False) -> bytes:
    raw = headers.encode("utf-8") + b"\n" + body
    return raw.replace(b"\n", b"\r\n") if crlf else raw


# --- parse: headers ---------------------------------------------------------------------------


def test_encoded_words_are_decoded_even_when_a_character_is_split_between_them() -> None:
    # "Grüße" with the two bytes of "ü" in separate words, as some encoders split them.
    mail = parse(
        _raw(
            "From: =?utf-8?Q?M=C3=BCller?= <m@example.com>\nSubject: =?utf-8?B?R3LD?= =?utf-8?B?vMOfZQ==?=\n"
        )
    )
    assert mail.subject == "Grüße"
    assert mail.from_name == "Müller"


def test_encoded_word_in_an_unknown_charset_is_read_as_utf8_or_windows_1252() -> None:
    mail = parse(_raw("Subject: =?x-mac-unknown?Q?R=FCckruf?= =?x-unknown?Q?_bitte_=C3=BCbermorgen?=\n"))
    assert mail.subject == "Rückruf bitte übermorgen"


def test_raw_8bit_header_bytes_are_read_as_utf8_then_windows_1252() -> None:
    latin = parse(b"From: J\xfcrg <j@example.com>\nSubject: K\xfcndigung \x80 5\n\nx\n")
    assert (latin.from_name, latin.subject) == ("Jürg", "Kündigung € 5")
    utf8 = parse("Subject: Grüße aus Zürich\n\nx\n".encode())
    assert utf8.subject == "Grüße aus Zürich"


def test_header_control_characters_and_nul_bytes_are_dropped() -> None:
    mail = parse(b"From: Null\x00 Byte <n@example.com>\nSubject: Ex\x00port\x07 kaputt\n\nx\n")
    assert mail.subject == "Export kaputt"
    assert mail.from_name == "Null Byte"


@pytest.mark.parametrize(
    "sender",
    ["root@localhost", "hans at example dot com", "<@>", "a..b@example.com", "x@[10.0.0.1]", ""],
)
def test_a_from_that_cannot_be_answered_has_no_address(sender: str) -> None:
    mail = parse(_raw(f"From: Someone <{sender}>\n" if sender else "Subject: none\n"))
    assert mail.from_address is None


def test_from_address_is_normalized() -> None:
    mail = parse(_raw('From: "Muster, Hans" <Hans.Muster@Example.COM>\n'))
    assert (mail.from_name, mail.from_address) == ("Muster, Hans", "hans.muster@example.com")


@pytest.mark.parametrize(
    "value", ["gestern", "Fri, 31 Dec 9999 23:00:00 -1200", "Mon, 99 Foo 2025 99:99:99 +9999", ""]
)
def test_a_date_that_cannot_be_read_is_none(value: str) -> None:
    assert parse(_raw(f"Date: {value}\nSubject: x\n")).date is None


def test_date_is_utc() -> None:
    mail = parse(_raw("Date: Tue, 4 Mar 2025 09:12:44 +0100\n"))
    assert mail.date == datetime(2025, 3, 4, 8, 12, 44, tzinfo=UTC)


def test_thread_ids_are_nearest_first_without_duplicates() -> None:
    mail = parse(_raw("Message-ID: <c@x>\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>\n"))
    assert mail.message_id == "<c@x>"
    assert mail.thread_ids == ["<b@x>", "<a@x>"]


@pytest.mark.parametrize(
    "raw", [b"", b"   \r\n", b"\x00\x01\x02\xff garbage", b"%PDF-1.4\n%\xe2\xe3\n", b"\n\nbody"]
)
def test_what_is_not_a_mail_is_unparseable(raw: bytes) -> None:
    with pytest.raises(Unparseable):
        parse(raw)


def test_multiparts_nested_beyond_what_the_parser_can_walk_are_unparseable_not_a_crash() -> None:
    nested = "".join(f'Content-Type: multipart/mixed; boundary="n{i}"\n\n--n{i}\n' for i in range(1000))
    with pytest.raises(Unparseable):
        parse(("From: a@example.com\n" + nested).encode())


# --- parse: bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/plain", "Grüße €".encode("cp1252"), "Grüße €"),  # no charset, Windows-1252 bytes
        ("text/plain; charset=utf-8", "Spülen".encode("latin-1"), "Spülen"),  # mislabeled
        ("text/plain; charset=x-unknown", "Grüße".encode(), "Grüße"),
        ("text/plain; charset=iso-8859-1", "\u201ezitiert\u201c".encode("cp1252"), "\u201ezitiert\u201c"),
        ("text/plain; charset=iso-8859-15", "Preis 5 €".encode("iso-8859-15"), "Preis 5 €"),
        ("text/plain; charset=us-ascii", "Grüße".encode(), "Grüße"),
    ],
)
def test_text_is_decoded_without_replacement_characters(
    content_type: str, body: bytes, expected: str
) -> None:
    mail = parse(_raw(f"Content-Type: {content_type}\n", body))
    assert mail.text == expected


def test_nul_bytes_and_crlf_are_removed_from_the_text() -> None:
    mail = parse(_raw("Subject: x\n", b"eins\x00zwei\ndrei\n", crlf=True))
    assert mail.text == "einszwei\ndrei"


def test_truncated_base64_keeps_what_decodes() -> None:
    encoded = base64.b64encode("Der Router startet ständig neu.".encode()).decode()
    mail = parse(
        _raw(
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
            encoded[:-6].encode(),
        )
    )
    assert mail.text.startswith("Der Router startet")


def test_multipart_without_boundary_is_split_by_the_boundary_it_uses() -> None:
    body = (
        b"--XyZ\nContent-Type: text/plain\n\nDer Text.\n"
        b'--XyZ\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="a.pdf"\n\n%PDF\n'
        b"--XyZ--\n"
    )
    mail = parse(_raw("Content-Type: multipart/mixed\n", body))
    assert mail.text == "Der Text."
    assert [(part.filename, part.data) for part in mail.attachments] == [("a.pdf", b"%PDF")]


def test_multipart_without_any_boundary_line_is_read_as_text() -> None:
    mail = parse(_raw("Content-Type: multipart/alternative\n", b"Nur Text, keine Teile.\n"))
    assert mail.text == "Nur Text, keine Teile."
    assert mail.attachments == []


def test_empty_multipart_makes_no_attachment() -> None:
    mail = parse(_raw('Content-Type: multipart/mixed; boundary="b"\n', b"--b--\n"))
    assert (mail.text, mail.attachments) == ("", [])


def test_html_only_mail_gives_text_and_sanitized_html() -> None:
    html = b'<p>Hallo <b>Welt</b></p><script>alert(1)</script><img src="https://t.example/p.gif">'
    mail = parse(_raw("Content-Type: text/html; charset=utf-8\n", html))
    assert mail.text == "Hallo Welt"
    assert mail.html == "<p>Hallo <b>Welt</b></p><img>"


def test_empty_plain_alternative_falls_back_to_the_html() -> None:
    body = (
        b"--a\nContent-Type: text/plain\n\n\n"
        b"--a\nContent-Type: text/html\n\n<div>Nur im HTML</div>\n"
        b"--a\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n--a--\n"
    )
    mail = parse(_raw('Content-Type: multipart/alternative; boundary="a"\n', body))
    assert mail.text == "Nur im HTML"
    assert [(part.filename, part.content_type) for part in mail.attachments] == [
        ("invite.ics", "text/calendar")
    ]


def test_forwarded_mail_is_one_attachment_named_by_its_subject() -> None:
    body = (
        b"--f\nContent-Type: text/plain\n\nSiehe unten.\n"
        b"--f\nContent-Type: message/rfc822\n\n"
        b"Subject: Ihre Rechnung: 12/2025\nFrom: s@example.com\n\nInnen.\n"
        b"--f--\n"
    )
    mail = parse(_raw('Content-Type: multipart/mixed; boundary="f"\n', body))
    assert mail.text == "Siehe unten."
    [forwarded] = mail.attachments
    assert forwarded.filename == "Ihre Rechnung 12 2025.eml"
    assert b"Innen." in forwarded.data


def test_attachment_names_in_encoded_words_and_rfc2231_are_decoded() -> None:
    body = (
        b"--m\nContent-Type: text/plain\n\nx\n"
        b"--m\nContent-Type: application/pdf\n"
        b'Content-Disposition: attachment; filename="=?utf-8?Q?R=C3=BCckgabe.pdf?="\n\n1\n'
        b"--m\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''%C3%9Cbersicht.pdf\n\n2\n"
        b"--m--\n"
    )
    mail = parse(_raw('Content-Type: multipart/mixed; boundary="m"\n', body))
    assert [part.filename for part in mail.attachments] == ["Rückgabe.pdf", "Übersicht.pdf"]


def test_a_mailer_daemon_notice_in_free_form_is_a_bounce() -> None:
    raw = (
        b"From: MAILER-DAEMON@old.example\nSubject: failure notice\n\n"
        b"<gone@old.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        b"--- Below this line is a copy of the message.\n\nMessage-ID: <ours-1@alpha.example>\n\nHallo\n"
    )
    bounce = parse(raw).bounce
    assert bounce is not None
    assert (bounce.recipients, bounce.status, bounce.original_message_ids) == (
        ["gone@old.example"],
        "5.1.1",
        ["<ours-1@alpha.example>"],
    )


def test_a_customer_mail_about_a_failure_is_not_a_bounce() -> None:
    mail = parse(_raw("From: hans@example.com\nSubject: Delivery failure of my parcel\n"))
    assert mail.bounce is None


# --- html_to_text -----------------------------------------------------------------------------


def test_html_to_text_makes_lines_of_blocks_and_lists() -> None:
    html = "<h1>Titel</h1><p>Erster&nbsp;Absatz<br>zweite Zeile</p><ul><li>eins</li><li>zwei</li></ul>"
    assert html_to_text(html) == "Titel\n\nErster\xa0Absatz\nzweite Zeile\n\n- eins\n- zwei"


def test_html_to_text_skips_scripts_styles_and_the_head() -> None:
    html = "<html><head><title>T</title><style>p{}</style></head><body><script>x()</script><p>Text</p></body>"
    assert html_to_text(html) == "Text"


def test_html_to_text_reads_the_body_after_an_unclosed_head() -> None:
    assert html_to_text("<html><head><meta charset=utf-8><body><p>Inhalt</p>") == "Inhalt"


def test_html_to_text_keeps_table_cells_apart() -> None:
    assert html_to_text("<table><tr><td>Artikel</td><td>4471</td></tr></table>") == "Artikel 4471"


def test_html_to_text_quotes_blockquotes() -> None:
    html = "<p>Neu</p><blockquote><p>Alt</p><blockquote>Älter</blockquote></blockquote>"
    assert html_to_text(html) == "Neu\n\n> Alt\n>\n> > Älter"


def test_html_to_text_survives_nul_bytes_and_broken_markup() -> None:
    text = html_to_text("<p>a\x00b</p><div <<>> <p>c &amp d")
    assert "ab\n" in text
    assert text.endswith("c & d")


# --- sanitize_html ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p onclick='x()'>a</p><script>alert(1)</script>", "<p>a</p>"),
        ('<img src=x onerror="alert(1)">', "<img>"),
        ('<a href="javascript:alert(1)">k</a>', '<a rel="noopener noreferrer nofollow">k</a>'),
        (
            '<a href="https://example.com/x" target="_blank">k</a>',
            '<a href="https://example.com/x" rel="noopener noreferrer nofollow">k</a>',
        ),
        ('<img src="https://tracker.example/o.gif" width="1">', '<img width="1">'),
        ('<img src="cid:logo@sig" alt="Logo">', '<img src="cid:logo@sig" alt="Logo">'),
        ("<style>body{display:none}</style><title>T</title><b>x</b>", "<b>x</b>"),
        (
            '<form action="https://evil.example"><input name="pw"></form><iframe src="https://e"></iframe>ok',
            "ok",
        ),
        ('<div style="position:fixed;top:0">d</div><!-- c -->', "<div>d</div>"),
    ],
)
def test_sanitize_html_keeps_only_inert_markup(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


# --- trim_reply -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Mar 17, 2025 at 4:00 PM Alpha Support <support@alpha.example> wrote:",
        "Am Mo., 17. März 2025 um 16:00 Uhr schrieb Alpha Support <support@alpha.example>:",
        "Le lun. 17 mars 2025 à 16:00, Alpha Support <support@alpha.example> a écrit :",
        "Il giorno lun 17 mar 2025 alle ore 16:00 Alpha Support <support@alpha.example> ha scritto:",
        "Il 17/03/2025 16:00, Alpha Support ha scritto:",
        "17.03.2025 16:00, Alpha Support wrote:",
    ],
)
def test_quoted_history_below_an_attribution_is_trimmed(attribution: str) -> None:
    text = f"Danke, es geht wieder.\n\n{attribution}\n\n> Bitte neu starten.\n> Gruss"
    assert trim_reply(text) == "Danke, es geht wieder."


def test_an_attribution_wrapped_over_two_lines_is_trimmed() -> None:
    text = (
        "Noch offen.\nOn Mon, Mar 17, 2025 at 4:00 PM Alpha Support <\n"
        "support@alpha.example> wrote:\n\n> Erledigt."
    )
    assert trim_reply(text) == "Noch offen."


@pytest.mark.parametrize(
    "block",
    [
        "From: Alpha <support@alpha.example>\nSent: Monday, March 17, 2025 4:00 PM\nTo: Hans\nSubject: Re",
        "Von: Alpha <support@alpha.example>\nGesendet: Montag, 17. März 2025 16:00\nAn: Hans\nBetreff: AW",
        "De : Alpha <support@alpha.example>\nEnvoyé : lundi 17 mars 2025 16:00\nÀ : Julie\nObjet : RE",
        "Da: Alpha <support@alpha.example>\nInviato: lunedì 17 marzo 2025 16:00\nA: Giulia\nOggetto: R",
        "-----Original Message-----\nFrom: support@alpha.example",
        "-----Ursprüngliche Nachricht-----\nVon: support@alpha.example",
        "-------- Message d'origine --------\nDe : support@alpha.example",
        "-----Messaggio originale-----\nDa: support@alpha.example",
        "________________________________\nFrom: support@alpha.example",
    ],
)
def test_outlook_header_blocks_start_the_quote(block: str) -> None:
    text = f"Der Termin passt.\n\nGruss Hans\n\n{block}\n\nWann passt Ihnen ein Termin?"
    assert trim_reply(text) == "Der Termin passt.\n\nGruss Hans"


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nHans Muster\nTel. 044",
        "--\nHans",
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Inviato da iPhone",
        "Inviato dal mio Samsung",
    ],
)
def test_signatures_are_trimmed(signature: str) -> None:
    assert trim_reply(f"Bitte um Rückruf.\n\n{signature}") == "Bitte um Rückruf."


def test_a_mail_that_is_all_quote_is_not_trimmed() -> None:
    quoted = "> Bitte neu starten.\n> Gruss Alpha"
    assert trim_reply(quoted) == quoted
    forwarded = "---------- Forwarded message ---------\nFrom: shop@example.com\n\nIhre Bestellung"
    assert trim_reply(forwarded) == forwarded


def test_prose_that_only_looks_like_a_quote_is_kept() -> None:
    text = "Hallo,\nFrom: the manual, page 4, it should work.\nAm Montag bin ich wieder erreichbar."
    assert trim_reply(text) == text
    single = "Die Anzeige zeigt\n> 5 Fehler\nund dann nichts mehr. Was tun?\nDanke\nHans"
    assert trim_reply(single) == single


def test_last_line_starting_like_an_attribution_is_kept_without_a_quote() -> None:
    assert trim_reply("Der Drucker ist kaputt.\nLe technicien vient demain.") == (
        "Der Drucker ist kaputt.\nLe technicien vient demain."
    )
