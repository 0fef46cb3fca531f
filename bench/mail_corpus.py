"""A reproducible corpus of inbound support mail for `inbound_mail.py` (not a benchmark itself).

Per tenant, customers write new mails in German, English, French or Italian (plain text, or
text and HTML as Outlook and Gmail send them), answer their own threads (by In-Reply-To and
References, or by quoting the ticket number `[PREFIX-N]` in the subject of a reply to the
acknowledgement, whose Message-ID the generator cannot know), attach PDFs and screenshots,
send HTML-only mail, and their out-of-office replies answer the acknowledgements.

The generator keeps the books a single FIFO worker will reproduce: the n-th ticket-opening
message of a tenant becomes ticket number 1000 + n, so `[PREFIX-N]` always names a ticket that
exists by the time the reply is processed.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from html import escape

# Kinds of message and their share of the corpus.
NEW, REPLY_ID, REPLY_REF, ATTACHMENT, HTML_ONLY, AUTO_REPLY = (
    "new", "reply_by_id", "reply_by_subject", "attachment", "html_only", "auto_reply",
)  # fmt: skip
MIX = {NEW: 0.55, REPLY_ID: 0.15, REPLY_REF: 0.10, ATTACHMENT: 0.10, HTML_ONLY: 0.05, AUTO_REPLY: 0.05}
OPENS_TICKET = {NEW, ATTACHMENT, HTML_ONLY}
FIRST_NUMBER = 1001  # a tenant's first ticket (tickets.numbers.FIRST_NUMBER)

FIRST = {
    "de": ["Anna", "Lukas", "Monika", "Reto", "Sandra", "Thomas", "Ursula", "Beat", "Jürg", "Käthi"],
    "en": ["Emma", "James", "Olivia", "Harry", "Sophie", "Jack", "Grace", "George", "Chloe", "Liam"],
    "fr": ["Camille", "Julien", "Élodie", "Mathieu", "Chloé", "Nicolas", "Aurélie", "Loïc", "Inès", "Rémi"],
    "it": ["Giulia", "Marco", "Chiara", "Luca", "Francesca", "Matteo", "Sara", "Davide", "Elena", "Niccolò"],
}
LAST = {
    "de": ["Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Schneider", "Brunner", "Zürcher"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans"],
    "fr": ["Dubois", "Moreau", "Lefèvre", "Girard", "Bonnet", "Rochat", "Favre", "Perrin", "Méndez"],
    "it": ["Rossi", "Bianchi", "Colombo", "Ferrari", "Romano", "Galli", "Conti", "Bernasconi", "Leone"],
}
DOMAINS = ["bluewin.ch", "gmail.com", "gmx.ch", "outlook.com", "sunrise.ch", "hispeed.ch", "yahoo.fr"]
SUBJECTS = {
    "de": [
        "Geschirrspüler zeigt Fehler E{n}", "Rechnung {n} doppelt belastet", "Lieferung noch nicht da",
        "Frage zu meinem Vertrag Nr. {n}", "Passwort zurücksetzen funktioniert nicht",
        "Kündigung meines Abonnements", "Reparaturtermin verschieben", "Garantiefall Kaffeemaschine",
    ],
    "en": [
        "Dishwasher shows error E{n}", "Invoice {n} charged twice", "Delivery has not arrived",
        "Question about my contract no. {n}", "Password reset does not work",
        "Cancel my subscription", "Reschedule the repair appointment", "Warranty claim coffee machine",
    ],
    "fr": [
        "Le lave-vaisselle affiche l'erreur E{n}", "Facture {n} débitée deux fois",
        "Livraison pas encore arrivée", "Question sur mon contrat n° {n}",
        "La réinitialisation du mot de passe ne fonctionne pas", "Résiliation de mon abonnement",
        "Déplacer le rendez-vous de réparation", "Garantie machine à café",
    ],
    "it": [
        "La lavastoviglie mostra l'errore E{n}", "Fattura {n} addebitata due volte",
        "La consegna non è ancora arrivata", "Domanda sul mio contratto n. {n}",
        "Il ripristino della password non funziona", "Disdetta del mio abbonamento",
        "Spostare l'appuntamento di riparazione", "Garanzia macchina del caffè",
    ],
}  # fmt: skip
GREETING = {
    "de": ["Guten Tag", "Sehr geehrte Damen und Herren", "Hallo zusammen", "Grüezi"],
    "en": ["Hello", "Dear Sir or Madam", "Hi there", "Good morning"],
    "fr": ["Bonjour", "Madame, Monsieur", "Bonsoir", "Chère équipe"],
    "it": ["Buongiorno", "Gentili signori", "Salve", "Buonasera"],
}
SENTENCES = {
    "de": [
        "Seit letzter Woche funktioniert das Gerät nicht mehr richtig und zeigt immer wieder dieselbe "
        "Meldung an.",
        "Ich habe bereits versucht, es vom Strom zu trennen und neu zu starten, leider ohne Erfolg.",
        "Auf meiner Kreditkartenabrechnung sehe ich den Betrag zweimal, obwohl ich nur einmal bestellt habe.",
        "Könnten Sie mir bitte mitteilen, bis wann ich mit einer Antwort rechnen darf?",
        "Die Bestellung wurde laut Sendungsverfolgung vor fünf Tagen verschickt, ist aber nie angekommen.",
        "Ich bin tagsüber telefonisch erreichbar, am besten zwischen neun und zwölf Uhr.",
        "Im Anhang bzw. weiter unten finden Sie die Angaben zur Rechnung und meine Kundennummer.",
        "Der Techniker hätte am Donnerstag kommen sollen, ich muss den Termin aber leider verschieben.",
        "Das Gerät ist erst acht Monate alt und sollte deshalb noch unter die Garantie fallen.",
        "Bitte bestätigen Sie mir die Kündigung schriftlich per E-Mail.",
        "Wir haben das Problem auch an unserem zweiten Standort in Winterthur festgestellt.",
        "Vielen Dank im Voraus für Ihre Hilfe und freundliche Grüsse aus Bern.",
    ],
    "en": [
        "Since last week the appliance no longer works properly and keeps showing the same message.",
        "I have already tried unplugging it and restarting it, unfortunately without success.",
        "My credit card statement shows the amount twice although I only placed one order.",
        "Could you please let me know when I can expect an answer?",
        "According to the tracking the order was shipped five days ago, but it never arrived.",
        "I can be reached by phone during the day, preferably between nine and twelve.",
        "Please find the invoice details and my customer number attached or below.",
        "The technician was supposed to come on Thursday, but I unfortunately have to move the appointment.",
        "The machine is only eight months old, so it should still be covered by the warranty.",
        "Please confirm the cancellation in writing by e-mail.",
        "We have noticed the same problem at our second site in Manchester as well.",
        "Thank you in advance for your help, and kind regards from Leeds.",
    ],
    "fr": [
        "Depuis la semaine dernière, l'appareil ne fonctionne plus correctement et affiche toujours le "
        "même message.",
        "J'ai déjà essayé de le débrancher et de le redémarrer, malheureusement sans succès.",
        "Sur mon relevé de carte de crédit, le montant apparaît deux fois alors que je n'ai commandé "
        "qu'une seule fois.",
        "Pourriez-vous m'indiquer quand je peux m'attendre à une réponse ?",
        "Selon le suivi, la commande a été expédiée il y a cinq jours, mais elle n'est jamais arrivée.",
        "Je suis joignable par téléphone pendant la journée, de préférence entre neuf heures et midi.",
        "Vous trouverez ci-dessous les détails de la facture ainsi que mon numéro de client.",
        "Le technicien devait passer jeudi, mais je dois malheureusement déplacer le rendez-vous.",
        "L'appareil n'a que huit mois et devrait donc encore être couvert par la garantie.",
        "Merci de me confirmer la résiliation par écrit, par courriel.",
        "Nous avons constaté le même problème sur notre deuxième site à Lausanne.",
        "Je vous remercie d'avance pour votre aide et vous adresse mes meilleures salutations.",
    ],
    "it": [
        "Dalla settimana scorsa l'apparecchio non funziona più correttamente e mostra sempre lo stesso "
        "messaggio.",
        "Ho già provato a scollegarlo e a riavviarlo, purtroppo senza successo.",
        "Sull'estratto conto della carta di credito vedo l'importo due volte, anche se ho ordinato una "
        "sola volta.",
        "Potreste gentilmente dirmi entro quando posso aspettarmi una risposta?",
        "Secondo il tracciamento l'ordine è stato spedito cinque giorni fa, ma non è mai arrivato.",
        "Sono raggiungibile telefonicamente durante il giorno, preferibilmente tra le nove e mezzogiorno.",
        "Qui sotto trovate i dettagli della fattura e il mio numero cliente.",
        "Il tecnico sarebbe dovuto venire giovedì, ma purtroppo devo spostare l'appuntamento.",
        "L'apparecchio ha solo otto mesi e dovrebbe quindi essere ancora in garanzia.",
        "Vi prego di confermarmi la disdetta per iscritto via e-mail.",
        "Abbiamo riscontrato lo stesso problema anche nella nostra seconda sede a Lugano.",
        "Vi ringrazio in anticipo per l'aiuto e vi porgo cordiali saluti da Bellinzona.",
    ],
}
CLOSING = {
    "de": ["Freundliche Grüsse", "Mit freundlichen Grüssen", "Beste Grüsse", "Liebe Grüsse"],
    "en": ["Kind regards", "Best regards", "Thanks", "Many thanks"],
    "fr": ["Meilleures salutations", "Cordialement", "Bien à vous", "Merci d'avance"],
    "it": ["Cordiali saluti", "Distinti saluti", "Grazie mille", "Un saluto"],
}
MOBILE = {
    "de": "Von meinem iPhone gesendet",
    "en": "Sent from my iPhone",
    "fr": "Envoyé de mon iPhone",
    "it": "Inviato da iPhone",
}
REPLY_PREFIX = {"de": "AW: ", "en": "Re: ", "fr": "RE: ", "it": "R: "}
QUOTE_INTRO = {
    "de": "Am {date} schrieb {who}:",
    "en": "On {date}, {who} wrote:",
    "fr": "Le {date}, {who} a écrit :",
    "it": "Il giorno {date} {who} ha scritto:",
}
FOLLOW_UP = {
    "de": ["Gibt es hierzu schon Neuigkeiten?", "Ich habe noch die Seriennummer gefunden: SN-{n}.",
           "Das Problem besteht leider weiterhin.", "Danke, das hat geholfen. Eine Frage noch:"],
    "en": ["Is there any news on this?", "I found the serial number as well: SN-{n}.",
           "Unfortunately the problem persists.", "Thanks, that helped. One more question:"],
    "fr": ["Avez-vous déjà du nouveau à ce sujet ?", "J'ai aussi retrouvé le numéro de série : SN-{n}.",
           "Malheureusement, le problème persiste.", "Merci, cela m'a aidé. Encore une question :"],
    "it": ["Ci sono novità a riguardo?", "Ho trovato anche il numero di serie: SN-{n}.",
           "Purtroppo il problema persiste.", "Grazie, mi è stato utile. Ancora una domanda:"],
}  # fmt: skip
ACK_SUBJECT = "[{number}] We have received your message"
AUTO_SUBJECT = {
    "de": "Automatische Antwort: ", "en": "Automatic reply: ", "fr": "Réponse automatique : ",
    "it": "Risposta automatica: ",
}  # fmt: skip
AUTO_BODY = {
    "de": "Ich bin bis am {day}. abwesend und habe keinen Zugriff auf meine E-Mails. In dringenden "
    "Fällen wenden Sie sich bitte an meine Stellvertretung.",
    "en": "I am out of the office until the {day}th with no access to e-mail. For urgent matters "
    "please contact my colleague.",
    "fr": "Je suis absent(e) jusqu'au {day} sans accès à mes courriels. En cas d'urgence, veuillez "
    "contacter mon/ma suppléant(e).",
    "it": "Sono assente fino al {day} senza accesso alla posta elettronica. Per urgenze contattate il "
    "mio sostituto.",
}


@dataclass
class Customer:
    name: str
    address: str
    language: str


@dataclass
class Thread:
    number: int
    message_ids: list[str]
    subject: str
    body: str
    customer: Customer


@dataclass
class Mail:
    tenant_index: int
    kind: str
    raw: bytes
    language: str
    attachment_bytes: int = 0


@dataclass
class _Tenant:
    prefix: str
    address: str
    languages: list[str]
    customers: list[Customer]
    threads: list[Thread] = field(default_factory=list)


class Corpus:
    """`Corpus(...).mails()`: the messages in the order they arrive."""

    def __init__(self, count: int, tenants: list[tuple[str, str, list[str]]], seed: int = 7):
        """`tenants`: (ticket prefix, support address, languages) each."""
        self.count = count
        self.rng = random.Random(seed)
        self.clock = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        self.serial = 0
        self.tenants = [
            _Tenant(prefix, address, languages, self._customers(languages))
            for prefix, address, languages in tenants
        ]

    def _customers(self, languages: list[str]) -> list[Customer]:
        people = []
        for _n in range(150):
            # Most customers write in the tenant's first language, some in the others.
            language = languages[0] if self.rng.random() < 0.6 else self.rng.choice(languages)
            first, last = self.rng.choice(FIRST[language]), self.rng.choice(LAST[language])
            local = f"{first}.{last}{self.rng.randrange(100)}".lower()
            local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() or "kunde"
            people.append(Customer(f"{first} {last}", f"{local}@{self.rng.choice(DOMAINS)}", language))
        return people

    def mails(self) -> list[Mail]:
        kinds, weights = list(MIX), list(MIX.values())
        out = []
        for _n in range(self.count):
            tenant_index = self.rng.randrange(len(self.tenants))
            kind = self.rng.choices(kinds, weights)[0]
            if kind not in OPENS_TICKET and not self.tenants[tenant_index].threads:
                kind = NEW  # nothing to answer yet
            out.append(self._mail(tenant_index, kind))
        return out

    # --- one message ----------------------------------------------------------------------

    def _mail(self, tenant_index: int, kind: str) -> Mail:
        tenant = self.tenants[tenant_index]
        self.serial += 1
        self.clock += timedelta(seconds=self.rng.randrange(5, 90))
        message = EmailMessage(policy=SMTP)
        attachment_bytes = 0
        if kind in OPENS_TICKET:
            customer = self.rng.choice(tenant.customers)
            language = customer.language
            subject = self.rng.choice(SUBJECTS[language]).format(n=self.rng.randrange(10, 99999))
            text = self._body(language, customer, self.rng.randint(2, 6))
            message_id = self._set_headers(message, customer, tenant, subject)
            tenant.threads.append(
                Thread(FIRST_NUMBER + len(tenant.threads), [message_id], subject, text, customer)
            )
            if kind == HTML_ONLY:
                message.set_content(_html(text), subtype="html")
            else:
                self._text_or_alternative(message, text)
            if kind == ATTACHMENT:
                attachment_bytes = self._attach(message, language)
        elif kind == AUTO_REPLY:
            thread = self.rng.choice(tenant.threads)
            language = thread.customer.language
            number = f"{tenant.prefix}-{thread.number}"
            subject = AUTO_SUBJECT[language] + ACK_SUBJECT.format(number=number)
            # It answers our acknowledgement, whose Message-ID it carries and we cannot predict.
            self._set_headers(message, thread.customer, tenant, subject, in_reply_to=[self._foreign_id()])
            message["Auto-Submitted"] = "auto-replied"
            message["X-Auto-Response-Suppress"] = "All"
            message.set_content(AUTO_BODY[language].format(day=self.rng.randint(2, 28)))
        else:
            thread = self.rng.choice(tenant.threads)
            language = thread.customer.language
            if kind == REPLY_ID:  # answers its own thread: In-Reply-To and References match
                subject = REPLY_PREFIX[language] + thread.subject
                references = thread.message_ids[-10:]
            else:  # answers our mail: only `[PREFIX-N]` in the subject can thread it
                subject = f"{REPLY_PREFIX[language]}[{tenant.prefix}-{thread.number}] {thread.subject}"
                references = [self._foreign_id()]
            message_id = self._set_headers(message, thread.customer, tenant, subject, in_reply_to=references)
            thread.message_ids.append(message_id)
            self._text_or_alternative(message, self._reply(language, thread))
            if self.rng.random() < 0.03:
                attachment_bytes = self._attach(message, language)
        return Mail(tenant_index, kind, message.as_bytes(), language, attachment_bytes)

    def _set_headers(
        self,
        message: EmailMessage,
        customer: Customer,
        tenant: _Tenant,
        subject: str,
        in_reply_to: list[str] | None = None,
    ) -> str:
        domain = customer.address.rsplit("@", 1)[1]
        message_id = f"<{self.rng.getrandbits(64):016x}.{self.serial}@mail.{domain}>"
        message["Return-Path"] = f"<{customer.address}>"
        message["Received"] = (
            f"from mail.{domain} (mail.{domain} [192.0.2.{self.serial % 250 + 1}]) by mx.firstline.example "
            f"with ESMTPS id {self.serial:x}; {format_datetime(self.clock)}"
        )
        message["From"] = formataddr((customer.name, customer.address))
        message["To"] = tenant.address
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock)
        message["Message-ID"] = message_id
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to[-1]
            message["References"] = " ".join(in_reply_to)
        message["MIME-Version"] = "1.0"
        message["X-Mailer"] = self.rng.choice(["Microsoft Outlook 16.0", "Apple Mail (2.3774)", "Gmail"])
        return message_id

    def _body(self, language: str, customer: Customer, paragraphs: int) -> str:
        parts = [f"{self.rng.choice(GREETING[language])},"]
        for _p in range(paragraphs):
            parts.append(" ".join(self.rng.sample(SENTENCES[language], self.rng.randint(2, 4))))
        parts.append(f"{self.rng.choice(CLOSING[language])}\n{customer.name}")
        if self.rng.random() < 0.25:
            parts.append(MOBILE[language])
        elif self.rng.random() < 0.4:
            parts.append(f"-- \n{customer.name}\nBahnhofstrasse {self.rng.randint(1, 99)}\n+41 79 555 01 23")
        return "\n\n".join(parts)

    def _reply(self, language: str, thread: Thread) -> str:
        lines = [
            self.rng.choice(FOLLOW_UP[language]).format(n=self.rng.randrange(10**6)),
            " ".join(self.rng.sample(SENTENCES[language], self.rng.randint(1, 3))),
            f"{self.rng.choice(CLOSING[language])}\n{thread.customer.name}",
            "",
            QUOTE_INTRO[language].format(
                date=format_datetime(self.clock - timedelta(hours=3)), who="Support <support@example.com>"
            ),
        ]
        lines += [f"> {line}" for line in thread.body.splitlines()]
        return "\n".join(lines)

    def _text_or_alternative(self, message: EmailMessage, text: str) -> None:
        message.set_content(text)
        if self.rng.random() < 0.6:  # Outlook and Gmail send an HTML alternative
            message.add_alternative(_html(text), subtype="html")

    def _attach(self, message: EmailMessage, language: str) -> int:
        size = self.rng.randint(20_000, 300_000)
        if self.rng.random() < 0.5:
            name = {"de": "Rechnung", "en": "invoice", "fr": "facture", "it": "fattura"}[language]
            data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + self.rng.randbytes(size)
            message.add_attachment(data, maintype="application", subtype="pdf", filename=f"{name}-{size}.pdf")
        else:
            data = b"\x89PNG\r\n\x1a\n" + self.rng.randbytes(size)
            message.add_attachment(data, maintype="image", subtype="png", filename=f"Screenshot {size}.png")
        return len(data)

    def _foreign_id(self) -> str:
        return f"<{self.rng.getrandbits(64):016x}@firstline.example>"


def _html(text: str) -> str:
    """The HTML a mail client makes of the text: a paragraph per block, quotes as blockquote."""
    blocks, quoted = [], []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        plain = [escape(line) for line in lines if not line.startswith(">")]
        quoted += [escape(line[1:].strip()) for line in lines if line.startswith(">")]
        if plain:
            blocks.append("<p class=MsoNormal>" + "<br>".join(plain) + "</p>")
    if quoted:
        blocks.append("<blockquote type=cite>" + "<br>".join(quoted) + "</blockquote>")
    return (
        '<html><head><meta http-equiv=Content-Type content="text/html; charset=utf-8">'
        "<style>p.MsoNormal{margin:0cm;font-size:11pt;font-family:Calibri,sans-serif}</style></head>"
        "<body lang=DE-CH><div class=WordSection1>" + "\n".join(blocks) + "</div></body></html>"
    )
