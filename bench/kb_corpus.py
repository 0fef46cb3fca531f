"""Texts for the knowledge-base benchmarks: the FAQ set, a small German and French set written for
this project, and a generator of realistic-looking articles for the latency benchmark.

Not a benchmark itself (`run_all.py` skips it).

The German and French sets are FAQ-style answers of a utility/telecom help desk. Each question is
a paraphrase: other inflections ("Rechnungen" for "Rechnung", "factures" for "facture"), other
word order, synonyms where a customer would use them, accents left out in a few of the French
questions as customers type them. An answer never contains its own question.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# (question, answer): the answer is indexed as the article body, the question is the query.
GERMAN: list[tuple[str, str]] = [
    (
        "Wo finde ich meine Rechnungen?",
        "Jede Rechnung steht im Kundenportal unter «Dokumente» als PDF bereit. Wir senden Ihnen "
        "zusätzlich eine E-Mail, sobald eine neue Rechnung verfügbar ist.",
    ),
    (
        "Warum ist meine letzte Abrechnung so hoch?",
        "Ein höherer Betrag entsteht meist durch eine Nachzahlung nach der Jahresablesung oder "
        "durch einen geänderten Abschlag. Die Aufstellung auf Seite 2 zeigt den Verbrauch je Monat.",
    ),
    (
        "Wie kann ich mein Passwort zurücksetzen?",
        "Klicken Sie auf der Anmeldeseite auf «Passwort vergessen» und geben Sie Ihre "
        "E-Mail-Adresse ein. Der Link zum Zurücksetzen ist 30 Minuten gültig.",
    ),
    (
        "Ich möchte meinen Vertrag kündigen, welche Fristen gelten?",
        "Die Kündigung ist mit einer Frist von einem Monat zum Monatsende möglich. Senden Sie uns "
        "das Kündigungsschreiben per Post oder über das Kontaktformular.",
    ),
    (
        "Wie ändere ich die Lieferadresse?",
        "Eine neue Adresse tragen Sie im Kundenkonto unter «Persönliche Daten» ein. Bereits "
        "versandte Bestellungen werden noch an die alte Anschrift geliefert.",
    ),
    (
        "Welche Zahlungsarten akzeptieren Sie?",
        "Sie können per Lastschrift, Kreditkarte, TWINT oder Überweisung bezahlen. Bei "
        "Überweisungen geben Sie bitte immer die Rechnungsnummer als Zahlungsreferenz an.",
    ),
    (
        "Ich habe eine Mahnung erhalten, obwohl ich bezahlt habe.",
        "Zahlungseingänge werden innerhalb von drei Werktagen verbucht. Hat sich Ihre Zahlung mit "
        "dem Mahnschreiben überschnitten, können Sie es ignorieren; Mahngebühren fallen dann keine an.",
    ),
    (
        "Mein Router verbindet sich nicht mehr mit dem Internet.",
        "Trennen Sie das Gerät für 30 Sekunden vom Strom und starten Sie es neu. Leuchtet die "
        "Anzeige «Online» danach weiterhin rot, liegt vermutlich eine Störung im Netz vor.",
    ),
    (
        "Gibt es gerade Störungen in meiner Region?",
        "Aktuelle Netzstörungen und geplante Wartungsarbeiten zeigt unsere Statusseite nach "
        "Postleitzahl. Bei einer großflächigen Störung ist keine Meldung nötig.",
    ),
    (
        "Wie sende ich einen defekten Artikel zurück?",
        "Für eine Rücksendung drucken Sie das Retourenetikett aus Ihrem Konto aus und kleben es "
        "auf das Paket. Die Erstattung erfolgt nach Prüfung der Ware innerhalb von 14 Tagen.",
    ),
    (
        "Wie lange dauert die Lieferung?",
        "Bestellungen bis 16 Uhr verlassen unser Lager am selben Werktag. Die Zustellung dauert "
        "in der Regel ein bis zwei Werktage, für Großgeräte vereinbart die Spedition einen Termin.",
    ),
    (
        "Kann ich meinen Zählerstand online melden?",
        "Ja, den Stand Ihres Stromzählers können Sie im Kundenportal oder per App erfassen. Ein "
        "Foto des Zählers hilft uns bei Rückfragen.",
    ),
    (
        "Wie ändere ich meinen monatlichen Abschlag?",
        "Die Höhe der Abschlagszahlung passen Sie im Portal unter «Vertrag» an. Eine Änderung gilt "
        "ab dem nächsten Fälligkeitsdatum.",
    ),
    (
        "Ich ziehe um, was muss ich tun?",
        "Melden Sie Ihren Umzug mindestens zwei Wochen vorher mit dem neuen Einzugsdatum und den "
        "Zählerständen der alten Wohnung. Ihr Vertrag kann an die neue Adresse mitgenommen werden.",
    ),
    (
        "Warum wurde meine Kreditkarte abgelehnt?",
        "Abgelehnte Kartenzahlungen liegen meist an einem abgelaufenen Ablaufdatum, einem "
        "erreichten Limit oder an der fehlenden 3-D-Secure-Bestätigung Ihrer Bank.",
    ),
    (
        "Wie aktiviere ich die Zwei-Faktor-Authentifizierung?",
        "Unter «Sicherheit» im Konto wählen Sie «Anmeldung in zwei Schritten» und scannen den "
        "QR-Code mit einer Authenticator-App. Bewahren Sie die Wiederherstellungscodes gut auf.",
    ),
    (
        "Bekomme ich eine Gutschrift, wenn der Dienst ausfällt?",
        "Bei einem Ausfall von mehr als 24 Stunden schreiben wir Ihnen die anteilige Grundgebühr "
        "gut. Die Gutschriften erscheinen automatisch auf der folgenden Rechnung.",
    ),
    (
        "Kann ich die Rechnung auf Papier erhalten?",
        "Standardmäßig versenden wir elektronische Rechnungen. Eine Papierrechnung per Post "
        "können Sie gegen eine Gebühr von 2 Franken pro Sendung bestellen.",
    ),
    (
        "Wie erreiche ich den Kundendienst telefonisch?",
        "Unsere Hotline ist werktags von 8 bis 18 Uhr besetzt. Außerhalb dieser Zeiten hilft der "
        "Chat auf der Webseite oder Sie hinterlassen einen Rückruf-Wunsch.",
    ),
    (
        "Wie wechsle ich in einen günstigeren Tarif?",
        "Ein Tarifwechsel ist einmal pro Monat kostenlos möglich. Vergleichen Sie die Angebote im "
        "Portal; der neue Tarif gilt ab dem Ersten des Folgemonats.",
    ),
]

FRENCH: list[tuple[str, str]] = [
    (
        "Où trouver mes factures ?",
        "Chaque facture est disponible en PDF dans l'espace client, rubrique « Documents ». Un "
        "courriel vous avertit dès qu'une nouvelle facture est émise.",
    ),
    (
        "Pourquoi ma derniere facture est-elle si elevee ?",
        "Un montant plus élevé s'explique souvent par une régularisation après le relevé annuel "
        "ou par une mensualité modifiée. Le détail de la consommation figure en page 2.",
    ),
    (
        "Comment réinitialiser mon mot de passe ?",
        "Sur la page de connexion, cliquez sur « Mot de passe oublié » puis saisissez votre "
        "adresse électronique. Le lien de réinitialisation reste valable 30 minutes.",
    ),
    (
        "Je veux résilier mon abonnement, quel est le préavis ?",
        "La résiliation est possible avec un préavis d'un mois pour la fin du mois. Envoyez-nous "
        "votre demande par courrier ou via le formulaire de contact.",
    ),
    (
        "Comment changer mon adresse de livraison ?",
        "Vous modifiez l'adresse dans votre compte, rubrique « Données personnelles ». Les "
        "commandes déjà expédiées seront livrées à l'ancienne adresse.",
    ),
    (
        "Quels moyens de paiement acceptez-vous ?",
        "Vous pouvez payer par prélèvement, carte de crédit, TWINT ou virement. Pour un virement, "
        "indiquez toujours le numéro de facture comme référence.",
    ),
    (
        "J'ai reçu un rappel alors que j'ai déjà payé.",
        "Les paiements sont comptabilisés sous trois jours ouvrables. Si votre versement a croisé "
        "la lettre de relance, vous pouvez l'ignorer ; aucuns frais ne seront facturés.",
    ),
    (
        "Mon routeur ne se connecte plus à internet.",
        "Débranchez l'appareil pendant 30 secondes puis rallumez-le. Si le voyant « En ligne » "
        "reste rouge, une panne du réseau est probable.",
    ),
    (
        "Y a-t-il une panne dans ma région ?",
        "Notre page d'état affiche les pannes en cours et les travaux de maintenance prévus par "
        "code postal. Inutile de signaler une interruption générale.",
    ),
    (
        "Comment renvoyer un article défectueux ?",
        "Pour un retour, imprimez l'étiquette depuis votre compte et collez-la sur le colis. Le "
        "remboursement intervient sous 14 jours après contrôle de la marchandise.",
    ),
    (
        "Combien de temps prend la livraison ?",
        "Les commandes passées avant 16 h quittent l'entrepôt le jour même. La livraison prend en "
        "général un à deux jours ouvrables ; le transporteur fixe un rendez-vous pour les gros "
        "appareils.",
    ),
    (
        "Puis-je transmettre le relevé de mon compteur en ligne ?",
        "Oui, l'index de votre compteur électrique se saisit dans l'espace client ou l'application. "
        "Une photo du compteur nous aide en cas de question.",
    ),
    (
        "Comment modifier mes mensualites ?",
        "Le montant de la mensualité se règle dans l'espace client, rubrique « Contrat ». Le "
        "changement s'applique dès la prochaine échéance.",
    ),
    (
        "Je déménage, que dois-je faire ?",
        "Signalez votre déménagement au moins deux semaines à l'avance avec la date d'entrée et "
        "les index des compteurs de l'ancien logement. Votre contrat peut vous suivre.",
    ),
    (
        "Pourquoi ma carte bancaire a-t-elle été refusée ?",
        "Un paiement par carte est souvent refusé à cause d'une date d'expiration dépassée, d'un "
        "plafond atteint ou d'une validation 3-D Secure manquante auprès de votre banque.",
    ),
    (
        "Comment activer l'authentification à deux facteurs ?",
        "Dans « Sécurité », choisissez « Connexion en deux étapes » et scannez le code QR avec une "
        "application d'authentification. Conservez bien les codes de récupération.",
    ),
    (
        "Suis-je remboursé quand le service est interrompu ?",
        "Pour une coupure de plus de 24 heures, nous créditons la part correspondante de "
        "l'abonnement. L'avoir apparaît automatiquement sur la facture suivante.",
    ),
    (
        "Puis-je recevoir mes factures papier ?",
        "Nous envoyons par défaut des factures électroniques. Une facture sur papier par la poste "
        "est possible moyennant 2 francs par envoi.",
    ),
    (
        "Comment joindre le service client par téléphone ?",
        "Notre assistance téléphonique répond en semaine de 8 h à 18 h. En dehors de ces horaires, "
        "utilisez le chat du site ou demandez à être rappelé.",
    ),
    (
        "Comment passer à une offre moins chère ?",
        "Un changement d'offre est gratuit une fois par mois. Comparez les offres dans l'espace "
        "client ; la nouvelle offre s'applique au premier jour du mois suivant.",
    ),
]


def faq(lang: str = "en") -> list[tuple[str, str]]:
    """The zaragoza-construction-faq pairs (question, answer); `lang` "en" or "sv"."""
    import zaragoza_construction_faq

    return [(item["q"], item["a"]) for item in zaragoza_construction_faq.load(lang=lang)]


def analyze(app: Any) -> None:
    """Fresh planner statistics for the knowledge-base tables (see `world.vacuum_analyze`)."""
    import world

    world.vacuum_analyze(app, "article_translations", "articles")


# --- the generator ----------------------------------------------------------------------------


class Chain:
    """A word-bigram Markov chain over real texts: sentences that read like the source's."""

    def __init__(self, texts: list[str]) -> None:
        self.next: dict[tuple[str, str], list[str]] = {}
        for text in texts:
            words = text.split()
            for a, b, c in zip(["<s>", *words[:-1]], words, [*words[1:], "</s>"], strict=True):
                self.next.setdefault((a, b), []).append(c)
        self.starts = [key for key in self.next if key[0] == "<s>"]

    def words(self, rng: random.Random, count: int) -> list[str]:
        out: list[str] = []
        while len(out) < count:
            a, b = rng.choice(self.starts)
            out.append(b)
            while len(out) < count + 30:
                c = rng.choice(self.next[(a, b)])
                if c == "</s>":
                    break
                out.append(c)
                a, b = b, c
        return out


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    """Product names, error codes and part names: the long tail of a real knowledge base."""
    onsets = [
        "b",
        "br",
        "d",
        "f",
        "g",
        "k",
        "kl",
        "l",
        "m",
        "n",
        "p",
        "pr",
        "r",
        "s",
        "st",
        "t",
        "tr",
        "v",
        "z",
    ]
    vowels = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
    codas = ["", "", "n", "r", "s", "x", "l", "m", "nt", "rk"]
    seen: set[str] = set()
    while len(seen) < count:
        kind = rng.random()
        if kind < 0.2:
            word = (
                rng.choice(string.ascii_uppercase)
                + rng.choice(string.ascii_uppercase)
                + str(rng.randint(100, 9999))
            )
        else:
            syllables = rng.randint(2, 3)
            word = "".join(
                rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)
            )
            word = word.capitalize()
        seen.add(word)
    return sorted(seen)


@dataclass(frozen=True)
class Article:
    language: str
    title: str
    body: str


class Generator:
    """Articles in several languages over a shared set of topics (products, features, codes).

    Common words come from real FAQ answers (Markov chains), so their frequencies are a real
    text's; each article also names one topic's specific words, drawn Zipf-like, so the corpus
    has the long tail of rare words a real knowledge base has.
    """

    LANGUAGES = (("en", 0.5), ("sv", 0.2), ("de", 0.15), ("fr", 0.15))

    def __init__(self, seed: int = 7, topics: int = 5000) -> None:
        self.rng = random.Random(seed)
        en, sv = faq("en"), faq("sv")
        self.answers = {
            "en": Chain([a for _, a in en]),
            "sv": Chain([a for _, a in sv]),
            "de": Chain([a for _, a in GERMAN]),
            "fr": Chain([a for _, a in FRENCH]),
        }
        self.questions = {
            "en": [q for q, _ in en],
            "sv": [q for q, _ in sv],
            "de": [q for q, _ in GERMAN],
            "fr": [q for q, _ in FRENCH],
        }
        lexicon = pseudo_words(self.rng, topics * 3)
        self.topics = [self.rng.sample(lexicon, 6) for _ in range(topics)]
        # Zipf-like popularity: topic k is drawn with weight 1 / (k + 1).
        self.topic_weights = [1.0 / (k + 1) for k in range(topics)]
        self.cumulative: list[float] = []
        total = 0.0
        for weight in self.topic_weights:
            total += weight
            self.cumulative.append(total)

    def language(self) -> str:
        roll, acc = self.rng.random(), 0.0
        for language, share in self.LANGUAGES:
            acc += share
            if roll < acc:
                return language
        return self.LANGUAGES[0][0]

    def topic(self) -> list[str]:
        import bisect

        return self.topics[bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])]

    def article(self, language: str | None = None) -> Article:
        rng = self.rng
        language = language or self.language()
        topic = self.topic()
        words = self.answers[language].words(rng, rng.randint(40, 250))
        for _ in range(max(2, len(words) // 25)):
            words.insert(rng.randrange(len(words)), rng.choice(topic))
        question = rng.choice(self.questions[language]).rstrip("?").split()
        title = " ".join([*question[: rng.randint(3, 7)], rng.choice(topic[:3])])
        return Article(language, title[:300], " ".join(words))

    def articles(self, count: int) -> Iterator[Article]:
        for _ in range(count):
            yield self.article()

    def query(self, language: str | None = None) -> tuple[str, str]:
        """(language, query): a customer's question, most of them naming a product or code."""
        language = language or self.language()
        question = self.rng.choice(self.questions[language])
        if self.rng.random() < 0.6:
            question = f"{question} {self.rng.choice(self.topic())}"
        return language, question
