"""Bringing a client's existing FAQ into its knowledge base.

Imports are all or nothing: the file is read and checked completely first (streaming, so a large
CSV never sits in memory), every problem is reported with its line (or file) and nothing is
created; only a clean file is created, inside a savepoint, through the same services as the
editor (so every text gets its first version and its search entry). A problem that only shows
while creating rolls the savepoint back: never half an import.

A CSV (`csv_file.import_csv`) has the columns `title`, `body`, `language` and optionally
`category` (a path such as `Billing/Invoices`, named in the row's language), `tags`, `visibility`
and `key`: rows that share a key are the languages of one article; its first row gives the
category, visibility and tags.

A ZIP (`folder.import_folder`) holds a folder of Markdown or HTML files, one text each: the
language comes from a language folder (`de/faq.md`) or suffix (`faq.de.md`), other folders are
categories, the title comes from front matter, the first heading, or the file name; the same file
name in several language folders makes one article in several languages.

Both formats share `checks` (who may import, each text's fields) and `creating` (all of it, in one
savepoint), and answer with a `report.ImportReport`.
"""
