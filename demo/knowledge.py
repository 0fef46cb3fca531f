"""The demo clients' knowledge bases (demo/escalations.py escalates a ticket to walk the loop with).

Idempotent like the rest of the demo: an article is looked up by its first title first.
"""

from __future__ import annotations

from sqlalchemy import select

from core.auth.models import User
from core.extensions import db
from knowledge import categories, editing, lifecycle
from knowledge.models import ArticleTranslation, KbCategory
from tenants.models import Tenant

CATEGORIES = {
    "alpina": [{"de": "Geschirrspüler", "en": "Dishwashers"}, {"de": "Rechnungen", "en": "Invoices"}],
    "lumiere": [{"fr": "Facturation", "it": "Fatturazione", "en": "Billing"}, {"fr": "Réseau", "it": "Rete"}],
}

# slug, category index, visibility, {language: (title, body)}
ARTICLES = [
    (
        "alpina",
        0,
        "public",
        {
            "de": (
                "Fehlercode E24: Wasser wird nicht abgepumpt",
                "Zeigt Ihr Geschirrspüler **E24**, ist der Ablauf verstopft.\n\n"
                "1. Gerät ausschalten und Stecker ziehen.\n2. Sieb am Boden herausdrehen und reinigen.\n"
                "3. Ablaufschlauch auf Knicke prüfen.\n\nHilft das nicht, melden Sie sich bei uns.",
            ),
            "en": (
                "Error code E24: water is not pumped out",
                "If your dishwasher shows **E24**, the drain is blocked.\n\n"
                "1. Switch the appliance off and unplug it.\n2. Unscrew and clean the filter at the bottom.\n"
                "3. Check the drain hose for kinks.\n\nIf that does not help, contact us.",
            ),
        },
    ),
    (
        "alpina",
        1,
        "public",
        {
            "de": (
                "Rechnung korrigieren lassen",
                "Stimmt ein Betrag auf Ihrer Rechnung nicht, antworten Sie einfach auf die Rechnungs-E-Mail "
                "oder schreiben Sie uns mit der Rechnungsnummer. Wir prüfen sie innert 2 Arbeitstagen und "
                "senden Ihnen eine korrigierte Rechnung.",
            ),
            "en": (
                "Getting an invoice corrected",
                "If an amount on your invoice is wrong, simply reply to the invoice e-mail or write to us "
                "with the invoice number. We check it within 2 working days and send you a corrected "
                "invoice.",
            ),
        },
    ),
    (
        "alpina",
        None,
        "public",
        {
            "de": (
                "Garantie: 2 Jahre ab Kaufdatum",
                "Alle Alpina-Geräte haben 2 Jahre Garantie ab Kaufdatum.",
            ),
            "en": (
                "Warranty: 2 years from purchase",
                "All Alpina appliances have a 2-year warranty from purchase.",
            ),
        },
    ),
    (
        "alpina",
        None,
        "internal",
        {
            "de": (
                "Techniker-Einsatz: wann an den 2nd Level",
                "Einen Techniker nie direkt zusagen. Eskalieren, wenn Reset und Sieb-Reinigung nicht helfen.",
            )
        },
    ),
    (
        "lumiere",
        0,
        "public",
        {
            "fr": (
                "Comprendre votre facture",
                "Votre facture comprend l'abonnement, la consommation relevée et les taxes. "
                "Une facture plus élevée suit souvent un relevé réel après plusieurs estimations.",
            ),
            "it": (
                "Capire la fattura",
                "La fattura comprende l'abbonamento, il consumo rilevato e le imposte. "
                "Una fattura più alta segue spesso una lettura reale dopo diverse stime.",
            ),
            "en": (
                "Understanding your bill",
                "Your bill includes the subscription, the metered consumption and taxes. A higher bill "
                "often follows a real meter reading after several estimates.",
            ),
        },
    ),
    (
        "lumiere",
        1,
        "public",
        {
            "fr": (
                "Coupure de courant : que faire ?",
                "Vérifiez d'abord votre disjoncteur. Si vos voisins sont aussi touchés, la panne est sur le "
                "réseau : consultez la carte des coupures.",
            ),
            "it": (
                "Interruzione di corrente: cosa fare?",
                "Controllate prima l'interruttore generale. Se anche i vicini sono senza corrente, il "
                "guasto è sulla rete: consultate la mappa delle interruzioni.",
            ),
        },
    ),
    (
        "lumiere",
        None,
        "internal",
        {
            "fr": (
                "Procédure de remboursement",
                "Remboursement uniquement après validation par la comptabilité.",
            )
        },
    ),
]


def load(by_slug: dict[str, Tenant]) -> None:
    """The categories and articles, published by each client's expert (inside the system scope)."""
    experts = {
        slug: db.session.scalar(select(User).where(User.tenant_id == tenant.id, User.role == "client_expert"))
        for slug, tenant in by_slug.items()
    }
    made: dict[str, list[KbCategory]] = {}
    for slug, names_list in CATEGORIES.items():
        existing = categories.of_tenant(by_slug[slug].id)
        made[slug] = []
        for names in names_list:
            found = next((c for c in existing if c.names == names), None)
            made[slug].append(found or categories.save(by_slug[slug].id, names, None))
    for slug, category, visibility, texts in ARTICLES:
        tenant, expert = by_slug[slug], experts[slug]
        first_language, (first_title, first_body) = next(iter(texts.items()))
        exists = db.session.scalar(
            select(ArticleTranslation.id).where(
                ArticleTranslation.tenant_id == tenant.id, ArticleTranslation.title == first_title
            )
        )
        if exists is not None or expert is None:
            continue
        article = editing.create(
            editing.ArticleInput(
                tenant_id=tenant.id,
                language=first_language,
                title=first_title,
                body=first_body,
                category_id=made[slug][category].id if category is not None else None,
                visibility=visibility,
            ),
            expert,
        )
        for language, (title, body) in list(texts.items())[1:]:
            editing.save_text(article, language, title=title, body=body, base_revision=None, actor=expert)
        lifecycle.approve(article, expert)
