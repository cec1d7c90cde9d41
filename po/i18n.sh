#!/usr/bin/env bash
# The book's translations (po/README.md), one verb at a time:
#
#   bash po/i18n.sh extract   English source -> po/messages.pot, merged into po/zh-CN.po;
#                             the transcripts' narration -> po/transcripts/zh-CN.po
#   bash po/i18n.sh status    per page: messages, translated, fuzzy, English words left
#   bash po/i18n.sh check     stale, glossary terms, code kept, then complete (fails until it is)
#   bash po/i18n.sh build     docs/book (English) and docs/book/zh-CN (Chinese)
#   bash po/i18n.sh tools     installs what the verbs need when missing
#
# The transcripts' narration (their # lines) is translated in
# po/transcripts/<language>.po, written and applied by the book crate's
# transcripts-po.
#
# What it needs: mdBook, mdbook-i18n-helpers (mdbook-xgettext, mdbook-gettext)
# and gettext's msgmerge, msggrep and msginit; `tools` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.5.4
# The release of mdbook-i18n-helpers built on mdBook 0.5's crates
# (mdbook-preprocessor and mdbook-renderer 0.5); 0.3.x speak mdBook 0.4's
# protocol.
I18N_HELPERS_VERSION=0.4.0
# The translations, each po/<language>.po, built into docs/book/<language>.
LANGUAGES=(zh-CN)

# A scratch directory for a fresh extraction, removed on exit.
SCRATCH=""
scratch() {
    SCRATCH=$(mktemp -d)
    trap 'rm -rf "$SCRATCH"' EXIT
}

die() {
    echo "po/i18n.sh: $*" >&2
    exit 1
}

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is missing: run bash po/i18n.sh tools"
    done
}

tools() {
    command -v mdbook >/dev/null || cargo install mdbook --locked --version "$MDBOOK_VERSION"
    if ! cargo install --list | grep -q "^mdbook-i18n-helpers v$I18N_HELPERS_VERSION:"; then
        cargo install mdbook-i18n-helpers --locked --version "$I18N_HELPERS_VERSION"
    fi
    if ! command -v msgmerge >/dev/null || ! command -v msggrep >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get install -y gettext >/dev/null
        else
            die "gettext's tools are missing: apt-get install gettext (or your system's gettext package)"
        fi
    fi
}

# Extracts the English into "$1"/messages.pot: every message of the book as
# written, before mdBook's `links` preprocessor (no default preprocessors),
# so that an {{#include}} of code or output is never a message. mdbook-xgettext
# also makes a message of each fenced block that is not in a language it
# parses (```text: commands and output); those stay as they are, so they are
# left out. Line numbers are left out too (granularity 0): an edit above a
# message does not touch the PO files.
extract_to() {
    need mdbook mdbook-xgettext msggrep
    MDBOOK_BUILD__USE_DEFAULT_PREPROCESSORS=false \
        MDBOOK_OUTPUT='{"xgettext": {"pot-file": "messages.pot", "granularity": 0}}' \
        mdbook build docs -d "$1/xgettext" >"$1/xgettext.log" 2>&1 ||
        { cat "$1/xgettext.log" >&2; die "mdbook-xgettext failed"; }
    msggrep --invert-match --msgid --regexp='^```' "$1/xgettext/messages.pot" -o "$1/messages.pot"
}

# Whether two templates hold the same messages from the same pages: all but
# the date they were made.
same_template() {
    cmp -s <(grep -v '^"POT-Creation-Date:' "$1") <(grep -v '^"POT-Creation-Date:' "$2")
}

extract() {
    need msgmerge msginit
    scratch
    extract_to "$SCRATCH"
    if [ -f po/messages.pot ] && same_template "$SCRATCH/messages.pot" po/messages.pot; then
        echo "po/messages.pot: unchanged"
    else
        cp "$SCRATCH/messages.pot" po/messages.pot
        echo "po/messages.pot: written, $(grep -c '^msgid ' po/messages.pot) messages (the header included)"
    fi
    for language in "${LANGUAGES[@]}"; do
        if [ -f "po/$language.po" ]; then
            # New messages come in empty, changed ones fuzzy with their old
            # translation, removed ones obsolete (#~) at the end.
            msgmerge --quiet --update --backup=off --previous "po/$language.po" po/messages.pot
        else
            msginit --no-translator --locale="$language" --input=po/messages.pot \
                --output-file="po/$language.po"
        fi
        echo "po/$language.po: merged"
        # The transcripts' narration: new paragraphs come in empty, changed
        # ones lose their translation, removed ones are dropped.
        cargo run -q -p book --bin transcripts-po -- extract "$language"
    done
}

status() {
    for language in "${LANGUAGES[@]}"; do
        echo "po/$language.po:"
        cargo run -q -p book --bin translation-status -- "$language"
    done
}

# Every check, each run even when one before it failed: the messages are
# those of the English source now (a fresh extraction), the glossary's
# terms are translated, code, links and includes are kept, linked headings
# keep their ids; then that every message is translated, and that every
# exercise has its Chinese statement and hint.
check() {
    local failed=0
    scratch
    extract_to "$SCRATCH"
    export RUST_BACKTRACE=0
    BOOK_FRESH_POT="$SCRATCH/messages.pot" cargo test -q -p book --test translation -- --include-ignored ||
        failed=1
    cargo test -q -p classroom -- --ignored every_exercise_has_its_chinese_statement_and_hint || failed=1
    if [ "$failed" = 1 ]; then
        die "a check failed (above); po/README.md says how to fix each"
    fi
    echo "po/i18n.sh: every check passed"
}

# The committed transcripts, kept aside while a translation's are in
# docs/src/transcripts; put back on exit, even when a build fails.
TRANSCRIPTS_BACKUP=""
restore_transcripts() {
    [ -n "$TRANSCRIPTS_BACKUP" ] || return 0
    rm -rf docs/src/transcripts
    cp -pr "$TRANSCRIPTS_BACKUP/transcripts" docs/src/transcripts
    rm -rf "$TRANSCRIPTS_BACKUP"
    TRANSCRIPTS_BACKUP=""
}

build() {
    need mdbook mdbook-gettext
    # Built before the transcripts are touched: a build error stops here.
    cargo build -q -p book --bin transcripts-po
    # The English first: building a book empties its output directory, and
    # the translations live below the English one.
    mdbook build docs
    TRANSCRIPTS_BACKUP=$(mktemp -d)
    trap restore_transcripts EXIT
    cp -pr docs/src/transcripts "$TRANSCRIPTS_BACKUP/transcripts"
    for language in "${LANGUAGES[@]}"; do
        # Each language's narration over the English transcripts.
        rm -rf docs/src/transcripts
        cp -pr "$TRANSCRIPTS_BACKUP/transcripts" docs/src/transcripts
        cargo run -q -p book --bin transcripts-po -- apply docs/src/transcripts "$language"
        MDBOOK_BOOK__LANGUAGE="$language" \
            MDBOOK_BOOK__TITLE="$(title "$language")" \
            MDBOOK_BOOK__DESCRIPTION="$(description "$language")" \
            mdbook build docs -d "docs/book/$language"
    done
    restore_transcripts
}

# The book's title and description (book.toml's, which no PO file holds).
title() {
    case "$1" in
    zh-CN) echo "搭个 Web 服务器：Rust 版" ;;
    esac
}
description() {
    case "$1" in
    zh-CN) echo "Ruslan Spivak《搭个 Web 服务器》（Let's Build A Web Server）的 Rust 移植：每个阶段一章，代码取自各个 crate，每个实验都可以重放。" ;;
    esac
}

case "${1:-}" in
tools | extract | status | check | build) "$1" ;;
*)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
