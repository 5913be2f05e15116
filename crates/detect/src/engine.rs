//! The compiled engine: all types' candidates in one pass, keywords in one pass, validators
//! and confidence rules only on candidates.

use crate::defs::{Catalog, Shape, TypeDef};
use crate::digits::{for_each_run, Group};
use crate::normalize::{fold, fold_str};
use crate::validators::{Candidate, Validator};
use crate::Error;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use mamori_model::{Confidence, Layout};
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind as MatchKind2, PatternSet};
use std::collections::HashMap;

/// Most digit groups one candidate may span (a 19-digit card written 4-4-4-4-3 has five).
const MAX_GROUPS: usize = 6;
/// Longest digit candidate.
const MAX_DIGITS: usize = 32;
/// Digits in a run that no type writes in groups: two such runs one space apart are two values.
const LONG_RUN: usize = 9;

/// One sensitive value found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Index of the type in [`Engine::types`].
    pub type_index: usize,
    /// Index of the candidate pattern within the type.
    pub pattern: usize,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    pub confidence: Confidence,
    /// Bytes from the value to the nearest keyword of the type (`usize::MAX` when none):
    /// when two types claim the same value at the same level, the nearer keyword wins
    /// (12 digits right after 免許証番号 are a driver's license, not a pension number).
    pub keyword_distance: usize,
    /// Why the confidence is what it is, when that is not the rules': `documentation example`.
    pub note: Option<&'static str>,
}

struct DigitPattern {
    type_index: usize,
    pattern: usize,
    lengths: u64,
    groups: Vec<Vec<usize>>,
    any_grouping: bool,
    unseparated: bool,
    separators: Vec<u8>,
    validators: Vec<Validator>,
}

struct RegexPattern {
    type_index: usize,
    pattern: usize,
    /// The pattern alone: to find where it ends at a start the combined search gave to another
    /// pattern, and to read its value group.
    single: Regex,
    /// The capture group that is the value; 0 for the whole match.
    group: usize,
    validators: Vec<Validator>,
}

/// A value found right after a label (see [`Shape::AfterLabel`]).
struct LabelPattern {
    type_index: usize,
    pattern: usize,
    /// The value, searched anchored just after the label and its separators.
    value: Regex,
    group: usize,
    validators: Vec<Validator>,
}

#[derive(Clone, Copy)]
struct KeywordUse {
    type_index: u32,
    group: u8,
    word: bool,
    case_sensitive: bool,
}

/// Regex patterns searched together in one pass.
struct RegexSet {
    /// Leftmost-first search over the members.
    first: Regex,
    /// The same members with "all matches" semantics, asked only at a candidate's start for
    /// the other members that also match there (the leftmost-first search reports one).
    all: Regex,
    /// Indexes into `Engine::regex_patterns`, by pattern id of `first` and `all`.
    members: Vec<usize>,
    /// True when every member can match ASCII bytes only: the set is then searched only in
    /// runs of ASCII text, so Japanese prose is skipped instead of fed byte by byte through the
    /// automaton (the catalog keeps its patterns ASCII for this; a user's pattern that can
    /// match other bytes lands in a second set searched over the whole text).
    ascii_runs: bool,
    /// The shortest match of any member: shorter ASCII runs are not searched.
    min_len: usize,
}

/// Buffers one scan reuses across its searches.
struct Scratch {
    digits: Vec<u8>,
    /// Capture slots per pattern (by index in `Engine::regex_patterns`), made on first use.
    captures: HashMap<usize, regex_automata::util::captures::Captures>,
}

/// A candidate that passed its validators, in folded-text offsets.
struct Validated {
    type_index: usize,
    pattern: usize,
    start: usize,
    end: usize,
    formatted: bool,
}

/// Sensitive types compiled into one scan. Cheap to share across threads.
pub struct Engine {
    types: Vec<TypeDef>,
    digit_patterns: Vec<DigitPattern>,
    separators: [bool; 256],
    /// Labels of every label pattern, in one automaton, and which patterns each one starts.
    labels: Option<AhoCorasick>,
    label_terms: Vec<String>,
    label_uses: Vec<Vec<usize>>,
    label_patterns: Vec<LabelPattern>,
    /// The regex patterns, split by where they must be searched (see [`RegexSet`]).
    regex_sets: Vec<RegexSet>,
    regex_patterns: Vec<RegexPattern>,
    keywords: Option<AhoCorasick>,
    /// Per type, the indexes of the types its values may hold (`TypeDef::contains`).
    contains: Vec<Vec<usize>>,
    keyword_uses: Vec<Vec<KeywordUse>>,
    keyword_terms: Vec<String>,
    /// Bytes of the longest keyword term.
    longest_keyword: usize,
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

impl Engine {
    pub fn new(catalog: &Catalog) -> Result<Engine, Error> {
        let types = catalog.types.clone();
        let mut digit_patterns = Vec::new();
        let mut separators = [false; 256];
        let mut regex_sources = Vec::new();
        let mut regex_patterns = Vec::new();
        let (mut label_terms, mut label_uses, mut label_patterns) = (Vec::<String>::new(), Vec::new(), Vec::new());
        for (ti, t) in types.iter().enumerate() {
            if t.keywords.len() > 64 {
                return Err(Error::Compile(format!("type {}: at most 64 keyword groups", t.id)));
            }
            for (pi, p) in t.patterns.iter().enumerate() {
                match &p.shape {
                    Shape::Digits { lengths, groups, any_grouping, unseparated, separators: seps } => {
                        for &s in seps {
                            separators[s as usize] = true;
                        }
                        digit_patterns.push(DigitPattern {
                            type_index: ti,
                            pattern: pi,
                            lengths: lengths.iter().fold(0u64, |m, &l| m | 1 << l),
                            groups: groups.clone(),
                            any_grouping: *any_grouping,
                            unseparated: *unseparated,
                            separators: seps.clone(),
                            validators: p.validators.clone(),
                        });
                    }
                    Shape::AfterLabel { labels, regex, group } => {
                        let value = Regex::builder()
                            .syntax(syntax_config())
                            .build(regex)
                            .map_err(|e| Error::Compile(format!("type {}: {e}", t.id)))?;
                        for l in labels {
                            let folded = fold_str(l.trim());
                            let idx = match label_terms.iter().position(|x| *x == folded) {
                                Some(i) => i,
                                None => {
                                    label_terms.push(folded);
                                    label_uses.push(Vec::new());
                                    label_terms.len() - 1
                                }
                            };
                            label_uses[idx].push(label_patterns.len());
                        }
                        label_patterns.push(LabelPattern {
                            type_index: ti,
                            pattern: pi,
                            value,
                            group: group.unwrap_or(0),
                            validators: p.validators.clone(),
                        });
                    }
                    Shape::Regex { regex, group } => {
                        let single = Regex::builder()
                            .syntax(syntax_config())
                            .build(regex)
                            .map_err(|e| Error::Compile(format!("type {}: {e}", t.id)))?;
                        regex_sources.push(regex.clone());
                        regex_patterns.push(RegexPattern {
                            type_index: ti,
                            pattern: pi,
                            single,
                            group: group.unwrap_or(0),
                            validators: p.validators.clone(),
                        });
                    }
                }
            }
        }
        // patterns that can only match ASCII search only ASCII runs; the others the whole text
        let (mut whole, mut ascii) = (Vec::new(), Vec::new());
        let mut min_len = Vec::new();
        for (i, src) in regex_sources.iter().enumerate() {
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(false)
                .utf8(false)
                .build()
                .parse(src)
                .map_err(|e| Error::Compile(e.to_string()))?;
            min_len.push(hir.properties().minimum_len().unwrap_or(0));
            if ascii_only(&hir) {
                ascii.push(i);
            } else {
                whole.push(i);
            }
        }
        let mut regex_sets = Vec::new();
        for (members, ascii_runs) in [(whole, false), (ascii, true)] {
            if members.is_empty() {
                continue;
            }
            let sources: Vec<&str> = members.iter().map(|&i| regex_sources[i].as_str()).collect();
            let build = |kind: MatchKind2| {
                Regex::builder()
                    .syntax(syntax_config())
                    .configure(meta::Config::new().match_kind(kind).hybrid_cache_capacity(16 << 20))
                    .build_many(&sources)
                    .map_err(|e| Error::Compile(e.to_string()))
            };
            regex_sets.push(RegexSet {
                first: build(MatchKind2::LeftmostFirst)?,
                all: build(MatchKind2::All)?,
                min_len: members.iter().map(|&i| min_len[i]).min().unwrap_or(0).max(1),
                members,
                ascii_runs,
            });
        }
        // one automaton for every keyword of every type; a term shared by groups is searched once
        let mut term_index: HashMap<String, usize> = HashMap::new();
        let mut keyword_terms = Vec::new();
        let mut keyword_uses: Vec<Vec<KeywordUse>> = Vec::new();
        for (ti, t) in types.iter().enumerate() {
            for (gi, g) in t.keywords.iter().enumerate() {
                for term in g.terms.iter().flat_map(|t| identifier_forms(t.trim())) {
                    let folded = fold_str(&term);
                    let key = folded.to_ascii_lowercase();
                    let idx = *term_index.entry(key).or_insert_with(|| {
                        keyword_terms.push(folded.clone());
                        keyword_uses.push(Vec::new());
                        keyword_terms.len() - 1
                    });
                    let word = g.word.unwrap_or(folded.is_ascii());
                    keyword_uses[idx].push(KeywordUse {
                        type_index: ti as u32,
                        group: gi as u8,
                        word,
                        case_sensitive: g.case_sensitive,
                    });
                }
            }
        }
        let keywords = if keyword_terms.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    // a full DFA: ~3x faster than the default NFA in overlapping mode, and a
                    // catalog's few thousand keyword bytes make it small
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&keyword_terms)
                    .map_err(|e| Error::Compile(e.to_string()))?,
            )
        };
        let labels = if label_terms.is_empty() {
            None
        } else {
            Some(
                // case-sensitive on purpose: case-insensitive search loses the SIMD prefilter
                // (~0.5 vs 5-7 GB/s measured), and labels are Japanese words
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&label_terms)
                    .map_err(|e| Error::Compile(e.to_string()))?,
            )
        };
        let contains = types
            .iter()
            .map(|t| t.contains.iter().filter_map(|id| types.iter().position(|u| &u.id == id)).collect())
            .collect();
        Ok(Engine {
            contains,
            labels,
            label_terms,
            label_uses,
            label_patterns,
            types,
            digit_patterns,
            separators,
            regex_sets,
            regex_patterns,
            keywords,
            keyword_uses,
            longest_keyword: keyword_terms.iter().map(|k| k.len()).max().unwrap_or(0),
            keyword_terms,
        })
    }

    pub fn types(&self) -> &[TypeDef] {
        &self.types
    }

    /// The longest stretch of text (in bytes) one detection can depend on: its own length plus
    /// its keyword window on both sides. Windowed readers overlap by this much.
    pub fn context_bytes(&self) -> usize {
        let prox = self.types.iter().map(|t| t.proximity).max().unwrap_or(0);
        // 4 bytes per character at most in UTF-8, plus the longest value we expect (a JWT)
        prox * 4 * 2 + 8192
    }

    /// Finds every sensitive value in `text`, with offsets into `text`.
    pub fn scan(&self, text: &str) -> Vec<Detection> {
        self.scan_with(text, None)
    }

    /// [`Engine::scan`] with what the extractor knows of the text's structure: a keyword in
    /// the label of a candidate's span (its column's header, its row's label) counts as a
    /// keyword right beside it, wherever the label stands.
    pub fn scan_with(&self, text: &str, layout: Option<&Layout>) -> Vec<Detection> {
        let folded = fold(text);
        let t: &str = &folded.text;
        let mut cands = Vec::new();
        self.digit_candidates(t, &mut cands);
        self.regex_candidates(t, &mut cands);
        self.label_candidates(t, &mut cands);
        if cands.is_empty() {
            return Vec::new();
        }
        // each candidate's keyword window, in bytes; empty for types without keywords
        let windows: Vec<(usize, usize)> = cands
            .iter()
            .map(|c| {
                let ty = &self.types[c.type_index];
                if ty.keywords.is_empty() {
                    (c.start, c.start)
                } else {
                    (back_chars(t, c.start, ty.proximity), forward_chars(t, c.end, ty.proximity))
                }
            })
            .collect();
        let hits = self.keyword_hits(t, &windows);
        let labels = LabelHits::new(self, layout.filter(|l| !l.is_empty()));
        let mut out: Vec<Detection> = cands
            .iter()
            .zip(&windows)
            .filter_map(|(c, &window)| {
                let labelled = labels.groups(folded.original(c.start), folded.original(c.end), c.type_index);
                let (mut confidence, keyword_distance) = self.score(t, &hits, labelled, c, window)?;
                let example = crate::validators::documentation_example(&t[c.start..c.end]);
                if example {
                    confidence = Confidence::Low;
                }
                Some(Detection {
                    note: example.then_some("documentation example"),
                    type_index: c.type_index,
                    pattern: c.pattern,
                    start: c.start,
                    end: c.end,
                    confidence,
                    keyword_distance,
                })
            })
            .collect();
        resolve(&mut out, |outer, inner| self.contains[outer].contains(&inner));
        for d in &mut out {
            d.start = folded.original(d.start);
            d.end = folded.original(d.end);
        }
        out
    }

    fn digit_candidates(&self, t: &str, out: &mut Vec<Validated>) {
        if self.digit_patterns.is_empty() {
            return;
        }
        let b = t.as_bytes();
        let mut digits = [0u8; MAX_DIGITS];
        for_each_run(b, &self.separators, |groups: &[Group]| {
            for i in 0..groups.len() {
                // a slice may start inside a run only after a space, and only where the group
                // before it has another length: "in 2024 1234 5678 9018" is one long number,
                // "6214 9832 0257 35" is a My Number and a 2-digit column; two long runs one
                // space apart are two numbers
                if i > 0 {
                    let (prev, cur) = (&groups[i - 1], &groups[i]);
                    let long_pair = glen(prev) >= LONG_RUN && glen(cur) >= LONG_RUN;
                    if prev.sep != b' ' || (glen(prev) == glen(cur) && !long_pair) {
                        continue;
                    }
                }
                let mut count = 0;
                for j in i..groups.len().min(i + MAX_GROUPS) {
                    let g = groups[j];
                    let len = g.end - g.start;
                    if count + len > MAX_DIGITS {
                        break;
                    }
                    digits[count..count + len].copy_from_slice(&b[g.start..g.end]);
                    count += len;
                    let n_groups = j - i + 1;
                    if n_groups > 1 && groups[j - 1].sep != groups[i].sep {
                        break; // mixed separators: "1234-5678 9012"
                    }
                    // the same rule at the end of a slice; but two long runs one space apart
                    // ("4111111111111111 5500000000000004") are two numbers, not one grouping
                    let long_runs =
                        n_groups == 1 && len >= LONG_RUN && groups.get(j + 1).is_some_and(|n| glen(n) >= LONG_RUN);
                    // "4012-8888-8888-1881 4012 8888 …": a space after a hyphenated number ends it
                    let own_sep_ends = n_groups > 1 && groups[i].sep != g.sep;
                    if j + 1 < groups.len()
                        && (g.sep != b' ' || glen(&groups[j + 1]) == glen(&g))
                        && !long_runs
                        && !own_sep_ends
                    {
                        continue;
                    }
                    let (start, end) = (groups[i].start, g.end);
                    let sep = groups[i].sep;
                    for p in &self.digit_patterns {
                        if p.lengths & (1 << count) == 0 {
                            continue;
                        }
                        let shape_ok = if n_groups == 1 {
                            p.unseparated
                        } else {
                            p.separators.contains(&sep)
                                && (p.any_grouping
                                    || p.groups.iter().any(|gr| {
                                        gr.len() == n_groups
                                            && gr.iter().zip(&groups[i..=j]).all(|(&l, g)| g.end - g.start == l)
                                    }))
                        };
                        if !shape_ok {
                            continue;
                        }
                        let c = Candidate { value: &t[start..end], digits: &digits[..count], text: t, start, end };
                        if p.validators.iter().all(|v| v.check(&c)) {
                            out.push(Validated {
                                type_index: p.type_index,
                                pattern: p.pattern,
                                start,
                                end,
                                formatted: n_groups > 1,
                            });
                        }
                    }
                }
            }
        });
    }

    fn regex_candidates(&self, t: &str, out: &mut Vec<Validated>) {
        let b = t.as_bytes();
        let mut scratch = Scratch { digits: Vec::with_capacity(64), captures: HashMap::new() };
        for set in &self.regex_sets {
            let mut found = PatternSet::new(set.members.len());
            if set.ascii_runs {
                for_each_ascii_run(b, set.min_len, |lo, hi| {
                    self.search_set(set, t, lo..hi, &mut found, &mut scratch, out)
                });
            } else {
                self.search_set(set, t, 0..b.len(), &mut found, &mut scratch, out);
            }
        }
    }

    /// Values right after a label: `パスワード：Xy7!kq2`, `暗証番号は 4821`.
    fn label_candidates(&self, t: &str, out: &mut Vec<Validated>) {
        let Some(ac) = &self.labels else { return };
        let b = t.as_bytes();
        let mut digits = Vec::new();
        for m in ac.find_iter(b) {
            // an ASCII label is a word: "PW" in "PWD" or "pass" in "passport" is not a label
            let term = self.label_terms[m.pattern().as_usize()].as_bytes();
            let alnum = |i: usize| b[i].is_ascii_alphanumeric();
            if (term[0].is_ascii_alphanumeric() && m.start() > 0 && alnum(m.start() - 1))
                || (term[term.len() - 1].is_ascii_alphanumeric() && m.end() < b.len() && alnum(m.end()))
            {
                continue;
            }
            let mut pos = m.end();
            // separators between label and value: spaces, ':', '=', and the particle は
            for _ in 0..4 {
                if pos < b.len() && matches!(b[pos], b' ' | b'\t' | b':' | b'=') {
                    pos += 1;
                } else if b[pos..].starts_with("は".as_bytes()) {
                    pos += "は".len();
                } else {
                    break;
                }
            }
            let at = Input::new(b).range(pos..).anchored(Anchored::Yes);
            for &li in &self.label_uses[m.pattern().as_usize()] {
                let p = &self.label_patterns[li];
                let mut caps = p.value.create_captures();
                p.value.search_captures(&at, &mut caps);
                if let Some(span) = caps.get_group(p.group) {
                    validate(t, span, (p.type_index, p.pattern), &p.validators, &mut digits, out);
                }
            }
        }
    }

    /// Candidates of one set that start in `range` (look-arounds still see the whole text).
    fn search_set(
        &self,
        set: &RegexSet,
        t: &str,
        range: std::ops::Range<usize>,
        found: &mut PatternSet,
        scratch: &mut Scratch,
        out: &mut Vec<Validated>,
    ) {
        let b = t.as_bytes();
        let hi = range.end;
        let mut input = Input::new(b).range(range);
        while let Some(m) = set.first.search(&input) {
            let s = m.start();
            // restart just after this start, so candidates of other types that begin inside
            // this one (a URL with a password around an e-mail-like part) are still found
            if s + 1 > hi {
                break;
            }
            input.set_start(s + 1);
            found.clear();
            let at = Input::new(b).range(s..hi).anchored(Anchored::Yes);
            set.all.which_overlapping_matches(&at, found);
            for pid in found.iter() {
                let member = set.members[pid.as_usize()];
                let p = &self.regex_patterns[member];
                let span = if pid == m.pattern() && p.group == 0 {
                    Some(m.span())
                } else if p.group == 0 {
                    p.single.search(&at).map(|m| m.span())
                } else {
                    let caps = scratch.captures.entry(member).or_insert_with(|| p.single.create_captures());
                    p.single.search_captures(&at, caps);
                    caps.get_group(p.group)
                };
                if let Some(span) = span {
                    validate(t, span, (p.type_index, p.pattern), &p.validators, &mut scratch.digits, out);
                }
            }
        }
    }

    /// Every keyword occurrence as (start, type, group), sorted by start, searched only within
    /// the proximity windows of the candidates: on a share where most text holds no sensitive
    /// value, the keyword automaton then touches a small fraction of the bytes.
    fn keyword_hits(&self, t: &str, windows: &[(usize, usize)]) -> Vec<(usize, u32, u8)> {
        let Some(ac) = &self.keywords else {
            return Vec::new();
        };
        let b = t.as_bytes();
        // a keyword that starts inside a window may end past it
        let mut windows: Vec<(usize, usize)> = windows
            .iter()
            .filter(|w| w.0 < w.1)
            .map(|&(lo, hi)| (lo, (hi + self.longest_keyword).min(b.len())))
            .collect();
        windows.sort_unstable();
        let mut hits = Vec::new();
        let mut i = 0;
        while i < windows.len() {
            let (lo, mut hi) = windows[i];
            while i + 1 < windows.len() && windows[i + 1].0 <= hi {
                i += 1;
                hi = hi.max(windows[i].1);
            }
            i += 1;
            self.keywords_in(ac, b, lo..hi, |s, u| hits.push((s, u.type_index, u.group)));
        }
        hits.sort_unstable();
        hits
    }

    /// Calls `f(start, use)` for each keyword use found in `b[range]` that passes its word
    /// and case rules.
    fn keywords_in(
        &self,
        ac: &AhoCorasick,
        b: &[u8],
        range: std::ops::Range<usize>,
        mut f: impl FnMut(usize, &KeywordUse),
    ) {
        for m in ac.find_overlapping_iter(aho_corasick::Input::new(b).span(range)) {
            let (s, e) = (m.start(), m.end());
            let term = self.keyword_terms[m.pattern().as_usize()].as_bytes();
            let word_ok = (!term[0].is_ascii_alphanumeric() || word_boundary(b, s))
                && (!term[term.len() - 1].is_ascii_alphanumeric() || word_boundary(b, e));
            for u in &self.keyword_uses[m.pattern().as_usize()] {
                if (u.word && !word_ok) || (u.case_sensitive && &b[s..e] != term) {
                    continue;
                }
                f(s, u);
            }
        }
    }

    fn score(
        &self,
        t: &str,
        hits: &[(usize, u32, u8)],
        labelled: u64,
        c: &Validated,
        (lo, hi): (usize, usize),
    ) -> Option<(Confidence, usize)> {
        let ty = &self.types[c.type_index];
        // a keyword in the span's header or row label names this very value
        let mut present = labelled;
        let mut nearest = if labelled != 0 { 0 } else { usize::MAX };
        if !ty.keywords.is_empty() {
            let from = hits.partition_point(|h| h.0 < lo);
            for h in &hits[from..] {
                if h.0 >= hi {
                    break;
                }
                if h.1 as usize != c.type_index {
                    continue;
                }
                // a group with its own, narrower window (e.g. "order no." right before the value)
                let group = &ty.keywords[h.2 as usize];
                if group.before_only && h.0 >= c.start {
                    continue;
                }
                if let Some(p) = group.proximity {
                    if h.0 < back_chars(t, c.start, p) || h.0 >= forward_chars(t, c.end, p) {
                        continue;
                    }
                }
                present |= 1 << h.2;
                let d = c.start.abs_diff(h.0);
                nearest = nearest.min(d);
            }
        }
        let has = |g: &usize| present & (1 << g) != 0;
        ty.rules
            .iter()
            .find(|r| {
                (r.patterns.is_empty() || r.patterns.contains(&c.pattern))
                    && r.formatted.is_none_or(|f| f == c.formatted)
                    && r.all.iter().all(has)
                    && (r.any.is_empty() || r.any.iter().any(has))
                    && !r.none.iter().any(has)
                    && (r.unless.is_empty() || !lookalike(t, c, &r.unless))
            })
            .map(|r| (r.level, if r.all.is_empty() && r.any.is_empty() { usize::MAX } else { nearest }))
    }
}

/// The keyword groups found in the labels of a layout's spans, per label, found once per scan.
struct LabelHits<'a> {
    /// The layout, when any of its labels holds a keyword.
    layout: Option<&'a Layout>,
    /// Per label: the (type, group) pairs its keywords name.
    found: Vec<Vec<(u32, u8)>>,
    /// Per type: whether any label names it (most candidates then skip the span look-up).
    named: Vec<bool>,
}

impl<'a> LabelHits<'a> {
    fn new(engine: &Engine, layout: Option<&'a Layout>) -> Self {
        if layout.is_none() {
            // plain text: nothing to read, nothing to allocate per window
            return LabelHits { layout: None, found: Vec::new(), named: Vec::new() };
        }
        let found: Vec<Vec<(u32, u8)>> =
            layout.map_or_else(Vec::new, |l| l.labels.iter().map(|label| engine.label_keywords(label)).collect());
        let mut named = vec![false; engine.types.len()];
        for &(t, _) in found.iter().flatten() {
            named[t as usize] = true;
        }
        let layout = layout.filter(|_| named.contains(&true));
        LabelHits { layout, found, named }
    }

    /// The keyword groups of type `ti` (as bits) that the labels of the span holding
    /// `start..end` (original offsets) name.
    fn groups(&self, start: usize, end: usize, ti: usize) -> u64 {
        if !self.named.get(ti).copied().unwrap_or(false) {
            return 0;
        }
        let Some(span) = self.layout.and_then(|l| l.span_of(start, end)) else { return 0 };
        let mut bits = 0u64;
        for label in [span.column, span.row].into_iter().flatten() {
            for &(t, g) in &self.found[label as usize] {
                if t as usize == ti {
                    bits |= 1 << g;
                }
            }
        }
        bits
    }
}

impl Engine {
    /// The (type, group) pairs whose keywords appear in a label.
    fn label_keywords(&self, label: &str) -> Vec<(u32, u8)> {
        let Some(ac) = &self.keywords else { return Vec::new() };
        let folded = fold(label);
        let b = folded.text.as_bytes();
        let mut out = Vec::new();
        self.keywords_in(ac, b, 0..b.len(), |_, u| out.push((u.type_index, u.group)));
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// True when any of `validators` accepts the candidate: it is a known look-alike.
fn lookalike(t: &str, c: &Validated, validators: &[Validator]) -> bool {
    let value = &t[c.start..c.end];
    let mut digits = [0u8; MAX_DIGITS];
    let mut n = 0;
    for b in value.bytes().filter(u8::is_ascii_digit).take(MAX_DIGITS) {
        digits[n] = b;
        n += 1;
    }
    let cand = Candidate { value, digits: &digits[..n], text: t, start: c.start, end: c.end };
    validators.iter().any(|v| v.check(&cand))
}

/// True when a keyword may start or end at `i`: at the ends of the text, beside a character
/// that is not an ASCII letter or digit, or where identifiers as code writes them join words
/// (`twilioToken`, `AWSSecretKey`: a lower-case letter then an upper-case one, or the last
/// capital of an acronym before a capitalized word). `_` and `-` already part words.
fn word_boundary(b: &[u8], i: usize) -> bool {
    if i == 0 || i >= b.len() || !b[i - 1].is_ascii_alphanumeric() || !b[i].is_ascii_alphanumeric() {
        return true;
    }
    let (prev, cur) = (b[i - 1], b[i]);
    (prev.is_ascii_lowercase() && cur.is_ascii_uppercase())
        || (prev.is_ascii_uppercase() && cur.is_ascii_uppercase() && b.get(i + 1).is_some_and(u8::is_ascii_lowercase))
}

/// Keeps `span` as a candidate of (type, pattern) when it slices `t` on character boundaries
/// and every validator passes. `digits` is a reused buffer.
fn validate(
    t: &str,
    span: regex_automata::Span,
    (type_index, pattern): (usize, usize),
    validators: &[Validator],
    digits: &mut Vec<u8>,
    out: &mut Vec<Validated>,
) {
    let (start, end) = (span.start, span.end);
    if start >= end || !t.is_char_boundary(start) || !t.is_char_boundary(end) {
        return;
    }
    let value = &t[start..end];
    digits.clear();
    digits.extend(value.bytes().filter(u8::is_ascii_digit));
    let c = Candidate { value, digits, text: t, start, end };
    if validators.iter().all(|v| v.check(&c)) {
        let formatted = value.bytes().any(|x| matches!(x, b' ' | b'-' | b'.'));
        out.push(Validated { type_index, pattern, start, end, formatted });
    }
}

/// A keyword term and the ways code writes it as an identifier: "api key" is also `api_key`,
/// `api-key` and `apikey` (which, matched without case, is `apiKey` and `APIKEY` too).
fn identifier_forms(term: &str) -> Vec<String> {
    let mut forms = vec![term.to_string()];
    if term.is_ascii() && term.contains(' ') && term.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
        for sep in ["_", "-", ""] {
            forms.push(term.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(sep));
        }
    }
    forms
}

/// True when the pattern can match ASCII bytes only.
fn ascii_only(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => l.0.is_ascii(),
        HirKind::Class(Class::Bytes(c)) => c.ranges().iter().all(|r| r.end() < 0x80),
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().all(|r| r.end().is_ascii()),
        HirKind::Repetition(r) => ascii_only(&r.sub),
        HirKind::Capture(c) => ascii_only(&c.sub),
        HirKind::Concat(xs) | HirKind::Alternation(xs) => xs.iter().all(ascii_only),
    }
}

/// Calls `f(start, end)` for each maximal run of ASCII bytes at least `min` long, testing
/// eight bytes at a time.
fn for_each_ascii_run(b: &[u8], min: usize, mut f: impl FnMut(usize, usize)) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i < b.len() {
        // skip non-ASCII
        while i + 8 <= b.len() && u64::from_le_bytes(b[i..i + 8].try_into().unwrap()) & HIGH == HIGH {
            i += 8;
        }
        while i < b.len() && !b[i].is_ascii() {
            i += 1;
        }
        let start = i;
        while i + 8 <= b.len() && u64::from_le_bytes(b[i..i + 8].try_into().unwrap()) & HIGH == 0 {
            i += 8;
        }
        while i < b.len() && b[i].is_ascii() {
            i += 1;
        }
        if i - start >= min {
            f(start, i);
        }
    }
}

fn glen(g: &Group) -> usize {
    g.end - g.start
}

/// The byte offset `n` characters before `pos`.
fn back_chars(t: &str, pos: usize, n: usize) -> usize {
    let b = t.as_bytes();
    let guess = pos.saturating_sub(n);
    if b[guess..pos].is_ascii() {
        return guess; // one byte per character
    }
    let mut i = pos;
    let mut left = n;
    while i > 0 && left > 0 {
        i -= 1;
        if (b[i] & 0xC0) != 0x80 {
            left -= 1;
        }
    }
    i
}

/// The byte offset `n` characters after `pos`.
fn forward_chars(t: &str, pos: usize, n: usize) -> usize {
    let b = t.as_bytes();
    let guess = (pos + n).min(b.len());
    if b[pos..guess].is_ascii() {
        return guess;
    }
    let mut i = pos;
    let mut left = n;
    while i < b.len() && left > 0 {
        i += 1;
        while i < b.len() && (b[i] & 0xC0) == 0x80 {
            i += 1;
        }
        left -= 1;
    }
    i
}

/// Settles competing claims: of the same type, overlapping matches keep the best (then the
/// longest); across types, a match strictly inside another at least as confident is a
/// fragment of it (unless `holds(outer, inner)`: a token in a URL is a finding of its own),
/// and on the very same span only the most confident types stay.
fn resolve(ds: &mut Vec<Detection>, holds: impl Fn(usize, usize) -> bool) {
    ds.sort_by(|a, b| {
        (a.start, std::cmp::Reverse(a.end), std::cmp::Reverse(a.confidence)).cmp(&(
            b.start,
            std::cmp::Reverse(b.end),
            std::cmp::Reverse(b.confidence),
        ))
    });
    let n = ds.len();
    let mut keep = vec![true; n];
    for i in 0..n {
        if !keep[i] {
            continue;
        }
        for j in i + 1..n {
            if ds[j].start >= ds[i].end {
                break;
            }
            let (a, b) = (&ds[i], &ds[j]);
            let same_span = a.start == b.start && a.end == b.end;
            let inside = b.start >= a.start && b.end <= a.end;
            if a.type_index == b.type_index {
                if a.confidence >= b.confidence || inside {
                    keep[j] = false;
                } else {
                    keep[i] = false;
                    break;
                }
            } else if same_span {
                // more confident first, then the nearer keyword
                let rank = |d: &Detection| (d.confidence, std::cmp::Reverse(d.keyword_distance));
                match rank(a).cmp(&rank(b)) {
                    std::cmp::Ordering::Greater => keep[j] = false,
                    std::cmp::Ordering::Less => {
                        keep[i] = false;
                        break;
                    }
                    std::cmp::Ordering::Equal => {}
                }
            } else if inside && a.confidence >= b.confidence && !holds(a.type_index, b.type_index) {
                keep[j] = false;
            }
        }
    }
    let mut k = keep.into_iter();
    ds.retain(|_| k.next().unwrap());
}
