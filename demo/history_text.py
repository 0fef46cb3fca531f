"""The words of the demo's generated history (demo/history.py): what the customers of each demo
client write about, in their languages, the names they sign with, what agents search the
knowledge base for, and what the few who answer the survey say.

Customer and agent texts are data, not interface strings: they stay in the language the customer
wrote in, whatever the reader's language, so they do not go through gettext.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Topic:
    """One reason customers write, with its share of the client's contacts."""

    category: str
    weight: int
    subjects: dict[str, str]  # language -> subject
    article: str | None = None  # first title of the demo article that answers it
    team: str | None = None  # the team the client's routing rules send it to (else the L2 team)
    escalate: float = 0.1  # chance that the first level cannot solve it
    extra: dict[str, float] = field(default_factory=dict)  # e.g. {"forward": 0.3}


TOPICS: dict[str, list[Topic]] = {
    "alpina": [
        Topic(
            "fault",
            14,
            {"de": "Geschirrspüler zeigt Fehler E24", "en": "Dishwasher shows error E24"},
            article="Fehlercode E24: Wasser wird nicht abgepumpt",
            escalate=0.12,
        ),
        Topic(
            "fault",
            9,
            {"de": "Waschmaschine schleudert nicht mehr", "en": "Washing machine no longer spins"},
            escalate=0.35,
            extra={"forward": 0.2},
        ),
        Topic(
            "fault",
            7,
            {"de": "Backofen heizt nicht", "en": "Oven does not heat up"},
            escalate=0.3,
            extra={"forward": 0.2},
        ),
        Topic(
            "fault",
            6,
            {"de": "Kühlschrank kühlt nicht richtig", "en": "Fridge is not cooling properly"},
            escalate=0.3,
        ),
        Topic(
            "fault",
            3,
            {"de": "App verbindet sich nicht mit dem WLAN", "en": "The app does not connect to the WLAN"},
            team="Technik",
            escalate=0.25,
        ),
        Topic(
            "usage_question",
            10,
            {"de": "Wie entkalke ich die Kaffeemaschine?", "en": "How do I descale the coffee machine?"},
            escalate=0.03,
        ),
        Topic(
            "usage_question",
            6,
            {"de": "Kindersicherung am Kochfeld ausschalten", "en": "Turning off the child lock on the hob"},
            escalate=0.03,
        ),
        Topic(
            "product_question",
            5,
            {
                "de": "Passt der Dampfgarer in eine 55-cm-Nische?",
                "en": "Does the steam oven fit a 55 cm niche?",
            },
            escalate=0.1,
        ),
        Topic(
            "product_question",
            5,
            {"de": "Garantie auf mein Gerät", "en": "Warranty on my appliance"},
            article="Garantie: 2 Jahre ab Kaufdatum",
            escalate=0.04,
        ),
        Topic(
            "complaint_return",
            5,
            {"de": "Gerät beschädigt geliefert", "en": "Appliance delivered damaged"},
            escalate=0.3,
        ),
        Topic(
            "billing_payment",
            6,
            {"de": "Rechnung doppelt belastet", "en": "Invoice charged twice"},
            article="Rechnung korrigieren lassen",
            team="Buchhaltung",
            escalate=0.2,
        ),
        Topic(
            "billing_payment",
            3,
            {"de": "Mahnung trotz Zahlung", "en": "Payment reminder although I paid"},
            team="Buchhaltung",
            escalate=0.25,
        ),
        Topic(
            "order",
            7,
            {"de": "Ersatzfilter bestellen", "en": "Ordering a replacement filter"},
            escalate=0.05,
        ),
        Topic(
            "delivery_status",
            8,
            {"de": "Wann wird mein Kühlschrank geliefert?", "en": "When will my fridge be delivered?"},
            escalate=0.12,
        ),
        Topic("other", 4, {"de": "Adressänderung", "en": "Change of address"}, escalate=0.02),
    ],
    "lumiere": [
        Topic(
            "billing_payment",
            15,
            {"fr": "Facture trop élevée", "it": "Bolletta troppo alta", "en": "My bill is too high"},
            article="Comprendre votre facture",
            team="Comptabilité",
            escalate=0.1,
        ),
        Topic(
            "billing_payment",
            7,
            {"fr": "Échéancier de paiement", "it": "Pagamento a rate", "en": "Payment plan"},
            escalate=0.12,
        ),
        Topic(
            "billing_payment",
            5,
            {"fr": "Prélèvement refusé", "it": "Addebito respinto", "en": "Direct debit rejected"},
            team="Comptabilité",
            escalate=0.15,
        ),
        Topic(
            "outage",
            8,
            {"fr": "Coupure de courant", "it": "Interruzione di corrente", "en": "Power cut"},
            article="Coupure de courant : que faire ?",
            escalate=0.2,
        ),
        Topic(
            "outage",
            3,
            {"fr": "Compteur sans affichage", "it": "Contatore spento", "en": "Meter display is blank"},
            escalate=0.3,
        ),
        Topic(
            "usage_question",
            10,
            {
                "fr": "Comment transmettre mon relevé de compteur ?",
                "it": "Come comunicare la lettura del contatore?",
                "en": "How do I submit a meter reading?",
            },
            escalate=0.02,
        ),
        Topic(
            "product_question",
            6,
            {"fr": "Offre électricité verte", "it": "Offerta energia verde", "en": "Green electricity offer"},
            escalate=0.05,
        ),
        Topic(
            "order",
            7,
            {
                "fr": "Nouveau contrat pour un déménagement",
                "it": "Nuovo contratto per trasloco",
                "en": "New contract for a move",
            },
            escalate=0.08,
        ),
        Topic(
            "complaint_return",
            4,
            {
                "fr": "Réclamation : technicien absent au rendez-vous",
                "it": "Reclamo: il tecnico non si è presentato",
                "en": "Complaint: the technician missed the appointment",
            },
            escalate=0.35,
            extra={"forward": 0.15},
        ),
        Topic(
            "fault",
            4,
            {
                "fr": "Borne de recharge en panne",
                "it": "Colonnina di ricarica guasta",
                "en": "Charger not working",
            },
            escalate=0.3,
        ),
        Topic(
            "delivery_status",
            4,
            {
                "fr": "Date de mise en service",
                "it": "Data di attivazione",
                "en": "When is my supply switched on?",
            },
            escalate=0.1,
        ),
        Topic(
            "other",
            3,
            {
                "fr": "Changement de titulaire",
                "it": "Cambio di intestatario",
                "en": "Change of account holder",
            },
            escalate=0.05,
        ),
    ],
}

GREETING = {"de": "Guten Tag", "en": "Hello", "fr": "Bonjour", "it": "Buongiorno"}
ASK = {
    "de": "Können Sie mir bitte weiterhelfen? Kundennummer und Kaufbeleg habe ich zur Hand.",
    "en": "Could you please help me? I have my customer number and receipt at hand.",
    "fr": "Pouvez-vous m'aider, s'il vous plaît ? J'ai mon numéro de client sous la main.",
    "it": "Potete aiutarmi, per favore? Ho a portata di mano il mio numero cliente.",
}
ANSWER = {
    "de": "Vielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen geprüft; die Schritte finden Sie unten.",
    "en": "Thank you for your message. We have looked into it; you will find the steps below.",
    "fr": "Merci pour votre message. Nous avons vérifié votre demande ; voici les étapes à suivre.",
    "it": "Grazie per il suo messaggio. Abbiamo verificato la richiesta; trova i passaggi qui sotto.",
}
FOLLOW_UP = {
    "de": "Danke, ich habe es ausprobiert. Leider besteht das Problem weiterhin.",
    "en": "Thanks, I tried it. Unfortunately the problem is still there.",
    "fr": "Merci, j'ai essayé. Malheureusement le problème persiste.",
    "it": "Grazie, ho provato. Purtroppo il problema persiste.",
}
TRIED = {
    "de": "Grundlegende Schritte mit dem Kunden durchgegangen (Neustart, Sicherung, Bedienungsanleitung).",
    "en": "Went through the basic steps with the customer (restart, fuse, manual).",
    "fr": "Étapes de base vérifiées avec le client (redémarrage, disjoncteur, notice).",
    "it": "Passaggi di base verificati con il cliente (riavvio, interruttore, manuale).",
}
AVAILABILITY = {
    "de": "Werktags per E-Mail oder Telefon erreichbar.",
    "en": "Reachable on working days by e-mail or phone.",
    "fr": "Joignable en semaine par e-mail ou téléphone.",
    "it": "Raggiungibile nei giorni feriali per e-mail o telefono.",
}
OUTCOME = {
    "alpina": "Erledigt: Techniker-Einsatz durchgeführt bzw. Gutschrift veranlasst.",
    "lumiere": "Traité : intervention effectuée ou correction de facture envoyée.",
}
FORWARD = {
    "alpina": "Weiter an die Fachabteilung: braucht einen Techniker vor Ort.",
    "lumiere": "Transmis au service concerné pour vérification.",
}
COMMENTS = {
    "de": (["Sehr freundlich und schnell, danke!", "Problem sofort gelöst."], ["Hat zu lange gedauert."]),
    "en": (["Quick and friendly, thank you!", "Solved on the first call."], ["Took far too long."]),
    "fr": (["Très bon accueil, merci !", "Réponse claire et rapide."], ["Trop d'attente."]),
    "it": (["Gentilissimi, grazie!", "Risposta rapida e chiara."], ["Troppa attesa."]),
}

# Knowledge-base searches: (query, found something). The misses are the content gaps.
SEARCHES = {
    "de": [
        ("e24", True),
        ("sieb reinigen", True),
        ("rechnung korrigieren", True),
        ("garantie", True),
        ("entkalken", False),
        ("kindersicherung", False),
        ("ersatzfilter", False),
    ],
    "en": [
        ("error e24", True),
        ("invoice wrong", True),
        ("warranty", True),
        ("bill", True),
        ("descale", False),
        ("meter reading", False),
    ],
    "fr": [
        ("facture", True),
        ("coupure", True),
        ("disjoncteur", True),
        ("relevé compteur", False),
        ("échéancier", False),
    ],
    "it": [("bolletta", True), ("interruzione", True), ("lettura contatore", False), ("rate", False)],
}

FIRST_NAMES = {
    "de": ["Hans", "Ursula", "Peter", "Monika", "Thomas", "Sandra", "Reto", "Daniela", "Urs", "Claudia"],
    "en": ["James", "Olivia", "David", "Sarah", "Michael", "Emma", "Daniel", "Laura", "Mark", "Rachel"],
    "fr": ["Julien", "Camille", "Nicolas", "Léa", "Thomas", "Chloé", "Antoine", "Manon", "Hugo", "Élodie"],
    "it": ["Marco", "Giulia", "Luca", "Chiara", "Andrea", "Sara", "Matteo", "Francesca", "Paolo", "Elena"],
}
LAST_NAMES = {
    "de": [
        "Müller",
        "Meier",
        "Schmid",
        "Keller",
        "Weber",
        "Huber",
        "Schneider",
        "Steiner",
        "Fischer",
        "Brunner",
    ],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Green"],
    "fr": [
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
    ],
    "it": [
        "Rossi",
        "Russo",
        "Ferrari",
        "Esposito",
        "Bianchi",
        "Romano",
        "Colombo",
        "Ricci",
        "Marino",
        "Greco",
    ],
}
