"""Fill empty msgstr entries of the de/fr/it catalogs from a table of translations.

    python i18n/apply_translations.py TABLE.py

TABLE.py defines `T = {msgid: (de, fr, it)}`; a plural msgid is the tuple (singular, plural) and
each translation is then a tuple of forms. Entries that already have a translation are kept.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent / "translations"


def main(table_path: str) -> None:
    table = runpy.run_path(table_path)["T"]
    for index, lang in enumerate(("de", "fr", "it")):
        path = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        filled = 0
        for key, translations in table.items():
            message = catalog.get(key if isinstance(key, str) else key[0])
            if message is None:
                continue
            empty = not message.string or (isinstance(message.string, tuple) and not all(message.string))
            if empty:
                text = translations[index]
                if isinstance(message.string, tuple):
                    forms = list(text) if isinstance(text, tuple) else [text]
                    while len(forms) < len(message.string):
                        forms.append(forms[-1])
                    message.string = tuple(forms[: len(message.string)])
                else:
                    message.string = text
                message.flags.discard("fuzzy")
                filled += 1
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, include_lineno=False)
        print(f"{lang}: {filled} filled")


if __name__ == "__main__":
    main(sys.argv[1])
