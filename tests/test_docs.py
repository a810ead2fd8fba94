"""No file in the repo cites a document that is not in the repo.

Every git-tracked text file is scanned for references to Markdown documents: plain mentions
(a path ending in `.md`, e.g. in a docstring or a comment, with or without a `§` section) and,
in Markdown files, links. A plain mention resolves against the repo root or the citing file's
folder; a Markdown link against the citing file's folder (as GitHub renders it), and its
`#anchor` must name a heading of the target. A citation of a heading, `<doc>, "<heading>"` (the
form the code uses for docs/platforms.md and docs/architecture.md), must name a heading that
exists in that document. Each problem is reported as `file:line`.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: A URL: what it names lives elsewhere, so it is left out of the scan.
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s)>\]\"'`]+")
#: A path to a Markdown document: optional folders (`../` too), then a file name ending in `.md`.
DOC_REF = re.compile(r"(?<![\w/.-])((?:\.{1,2}/|[\w-][\w.-]*/)*[\w-][\w.-]*\.md)(?!\w)")
#: A Markdown link or image: `[text](target)` or `[text](target "title")`.
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: `<doc>.md, "` starts a citation of one of the document's headings.
HEADING_CITE = re.compile(r"(?<![\w/.-])((?:[\w-][\w.-]*/)*[\w-][\w.-]*\.md),")
#: A line break inside a citation, with the comment marker the next line starts with.
CONTINUATION = re.compile(r"[ \t]*\n[ \t]*(?:#:|#|--|//|\*)?[ \t]*")
QUOTED = re.compile(r'\s*"([^"\n]+)"')
JOINER = re.compile(r"\s*(?:,\s*and|,\s*or|,|and|or)\s*(?=\")")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^\s*(```|~~~)")
#: A heading written as a placeholder, `"<heading>"`, where a document explains the form.
PLACEHOLDER = re.compile(r"<[^<>]+>")
#: Files never scanned as text, whatever their content.
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".zip", ".gz", ".woff",
                   ".woff2"}


@dataclass(frozen=True)
class Problem:
    """One citation that does not resolve: where it is, what it cites, and why it fails."""

    path: str
    line: int
    cited: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: cites {self.cited}: {self.why}"


class Repo:
    """The documents a scan may resolve citations to: tracked file paths and their text."""

    def __init__(self, files: dict[str, str | None]) -> None:
        #: repo-relative path -> text (None for a binary or unreadable file)
        self.files = files
        self.folders = {posixpath.dirname(p) for p in files}
        for folder in list(self.folders):
            while folder:
                folder = posixpath.dirname(folder)
                self.folders.add(folder)

    def has(self, path: str) -> bool:
        return path in self.files or path in self.folders

    def headings(self, path: str) -> list[str]:
        """The headings of a Markdown document, outside fenced code blocks."""
        out, fenced = [], False
        for line in (self.files.get(path) or "").splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and (m := HEADING.match(line)):
                out.append(" ".join(m.group(2).split()))
        return out

    def anchors(self, path: str) -> set[str]:
        """The `#anchor`s GitHub gives a document's headings (`-1`, `-2` for repeats)."""
        seen: dict[str, int] = {}
        out = set()
        for heading in self.headings(path):
            slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            out.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
        return out


def _normal(path: str) -> str | None:
    """A repo-relative path without `.` and `..` segments; None when it leaves the repo."""
    path = posixpath.normpath(path)
    return None if path.startswith("../") or path == ".." else path


def _resolve_plain(repo: Repo, citing: str, cited: str) -> str | None:
    """A plain mention: from the repo root, else from the citing file's folder."""
    for base in ("", posixpath.dirname(citing)):
        path = _normal(posixpath.join(base, cited))
        if path is not None and repo.has(path):
            return path
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _check_link(repo: Repo, citing: str, target: str) -> str | None:
    """Why a Markdown link target does not resolve (None when it does)."""
    if URL.match(target) or target.startswith("mailto:"):
        return None
    path, _, anchor = target.partition("#")
    if not path:
        doc = citing
    elif path.startswith("/"):
        doc = _normal(path.lstrip("/"))
    else:
        doc = _normal(posixpath.join(posixpath.dirname(citing), path))
    if doc is None or not repo.has(doc):
        return "no such file in the repo (relative to the citing file's folder)"
    if anchor and doc.endswith(".md") and anchor not in repo.anchors(doc):
        return f"{doc} has no heading with the anchor #{anchor}"
    return None


def _cited_headings(text: str, start: int) -> list[str]:
    """The quoted headings after a `<doc>.md, ` citation, joined across comment lines."""
    rest = CONTINUATION.sub(" ", text[start:start + 400])
    out, i = [], 0
    while m := QUOTED.match(rest, i):
        out.append(" ".join(m.group(1).split()))
        i = m.end()
        joiner = JOINER.match(rest, i)
        if not joiner:
            break
        i = joiner.end()
    return out


def scan_text(repo: Repo, citing: str, text: str) -> list[Problem]:
    """Every citation in `text` (the content of the file `citing`) that does not resolve."""
    problems = []
    is_markdown = citing.endswith(".md")
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if is_markdown:
            for m in MD_LINK.finditer(line):
                why = _check_link(repo, citing, m.group(1))
                if why:
                    problems.append(Problem(citing, number, m.group(1), why))
            line = MD_LINK.sub(" ", line)
        for m in DOC_REF.finditer(URL.sub(" ", line)):
            cited = m.group(1)
            path = _resolve_plain(repo, citing, cited)
            if path is None:
                problems.append(Problem(citing, number, cited, "no such document in the repo"))
            elif path not in repo.files:
                problems.append(Problem(citing, number, cited, "a folder, not a document"))
    for m in HEADING_CITE.finditer(URL.sub(lambda u: " " * len(u.group()), text)):
        doc = _resolve_plain(repo, citing, m.group(1))
        if doc is None or doc not in repo.files:
            continue  # reported above as a missing document
        headings = set(repo.headings(doc))
        for heading in _cited_headings(text, m.end()):
            if heading not in headings and not PLACEHOLDER.fullmatch(heading):
                problems.append(Problem(citing, _line_of(text, m.start()), f'{doc}, "{heading}"',
                                        f"{doc} has no heading {heading!r}"))
    return problems


def _read(path: Path) -> str | None:
    if path.suffix.lower() in BINARY_SUFFIXES:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def tracked_repo(root: Path = ROOT) -> Repo:
    """The repo as git tracks it (a document that exists but is not added is not in it)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                                check=True).stdout.decode("utf-8")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of tracked files to scan")
    return Repo({p: _read(root / p) for p in listed.split("\0") if p})


def scan_repo(repo: Repo) -> list[Problem]:
    problems = []
    for path, text in sorted(repo.files.items()):
        if text is not None:
            problems += scan_text(repo, path, text)
    return problems


def _report(problems: list[Problem]) -> str:
    return "\n".join(["citations that do not resolve:", *map(str, problems)])


def test_no_file_cites_a_document_that_is_not_in_the_repo():
    problems = [p for p in scan_repo(tracked_repo()) if "heading" not in p.why]
    assert not problems, _report(problems)


def test_every_cited_heading_and_anchor_exists_in_its_document():
    problems = [p for p in scan_repo(tracked_repo()) if "heading" in p.why]
    assert not problems, _report(problems)


# The scanner on made-up files. The names are assembled here so that this file does not cite
# them itself.
MD = ".md"
SAMPLE = Repo({
    "README" + MD: "# Sample\n\n## Layout\n\ntext\n",
    "docs/platforms" + MD: ("# Platforms\n\n## Huawei\n\n### Huawei: errors\n\n"
                            "```\n# Not one\n```\n"),
    "store/model.py": "",
})


def test_the_scanner_flags_a_document_that_is_not_in_the_repo():
    text = f'"""The model of DESIGN{MD}, see huawei{MD} §2 and platforms/onenet{MD}."""\n'

    problems = scan_text(SAMPLE, "store/model.py", text)

    assert [(p.line, p.cited) for p in problems] == [
        (1, "DESIGN" + MD), (1, "huawei" + MD), (1, "platforms/onenet" + MD)]


def test_the_scanner_accepts_documents_and_headings_that_exist():
    text = (f"# see README{MD} and docs/platforms{MD}, \"Huawei: errors\"\n"
            f"# (https://example.com/elsewhere{MD} is not ours to check)\n"
            f"# cite a heading as docs/platforms{MD}, \"<heading>\"\n")

    assert scan_text(SAMPLE, "store/model.py", text) == []


def test_the_scanner_follows_a_heading_citation_across_comment_lines():
    ok = f'#: the code is UNCONFIRMED, see docs/platforms{MD}, "Huawei:\n#: errors").\n'
    wrong = f'"""(docs/platforms{MD},\n"Huawei" and "Not one")."""\n'

    assert scan_text(SAMPLE, "store/model.py", ok) == []
    problems = scan_text(SAMPLE, "store/model.py", wrong)
    assert [(p.line, p.cited) for p in problems] == [(1, f'docs/platforms{MD}, "Not one"')]


def test_the_scanner_resolves_markdown_links_from_the_citing_folder():
    text = (f"[up](../README{MD}#layout) [same](#huawei-errors) [bad](README{MD}) "
            f"[gone](../README{MD}#no-such-part)\n")

    problems = scan_text(SAMPLE, "docs/platforms" + MD, text)

    assert [p.cited for p in problems] == [f"README{MD}", f"../README{MD}#no-such-part"]
