//! Sensitive information type definitions: the TOML schema, loading, and checking.
//!
//! A definition file holds one or more `[[type]]` tables. Everything a type needs to be found
//! (candidate patterns, validators, keyword groups, confidence rules) and to be tested
//! (examples, negative examples) is data here; the engine has no per-type code.

use crate::validators::Validator;
use crate::Error;
use mamori_model::Confidence;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Purview's default proximity window, in characters on each side of the candidate.
pub const DEFAULT_PROXIMITY: usize = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeFile {
    #[serde(rename = "type", default)]
    types: Vec<Spanned<RawType>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    name_ja: Option<String>,
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    purview: Option<String>,
    #[serde(default)]
    proximity: Option<usize>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(rename = "pattern")]
    patterns: Vec<Spanned<RawPattern>>,
    #[serde(default)]
    keywords: BTreeMap<String, RawKeywords>,
    #[serde(rename = "confidence")]
    rules: Vec<Spanned<RawRule>>,
    #[serde(rename = "example", default)]
    examples: Vec<Spanned<RawExample>>,
    #[serde(rename = "negative", default)]
    negatives: Vec<RawNegative>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    regex: Option<Spanned<String>>,
    #[serde(default)]
    group: Option<usize>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    digits: Option<Spanned<Vec<usize>>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    unseparated: Option<bool>,
    #[serde(default)]
    separators: Option<String>,
    #[serde(default)]
    validators: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeywords {
    terms: Vec<String>,
    #[serde(rename = "match", default)]
    style: Option<Spanned<String>>,
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default)]
    proximity: Option<usize>,
    #[serde(default)]
    before_only: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    level: Spanned<String>,
    #[serde(default)]
    all: Vec<Spanned<String>>,
    #[serde(default)]
    any: Vec<Spanned<String>>,
    #[serde(default)]
    none: Vec<Spanned<String>>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    #[serde(default)]
    formatted: Option<bool>,
    #[serde(default)]
    unless: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegative {
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    text: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    confidence: Option<Spanned<String>>,
}

/// One sensitive information type, checked and ready to compile.
#[derive(Clone, Debug)]
pub struct TypeDef {
    pub id: String,
    pub name: String,
    pub name_ja: Option<String>,
    pub category: String,
    pub description: String,
    /// The Purview entity this type follows, when there is one.
    pub purview: Option<String>,
    pub proximity: usize,
    /// Types whose values may stand inside this type's values as findings of their own (a
    /// token or an IP address in a URL); other types inside are fragments of it.
    pub contains: Vec<String>,
    pub patterns: Vec<PatternDef>,
    pub keywords: Vec<KeywordGroup>,
    pub rules: Vec<Rule>,
    pub examples: Vec<Example>,
    pub negatives: Vec<String>,
    /// Where the definition came from (a built-in file name or a path).
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct PatternDef {
    pub name: String,
    pub shape: Shape,
    pub validators: Vec<Validator>,
}

/// How a candidate is found.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A run of ASCII digits (after folding), possibly grouped by separators.
    Digits {
        lengths: Vec<usize>,
        /// Allowed groupings when separated, as group lengths; empty with `any_grouping` false
        /// means separators are not allowed.
        groups: Vec<Vec<usize>>,
        any_grouping: bool,
        unseparated: bool,
        separators: Vec<u8>,
    },
    /// An ASCII-mode regex; `group` selects the capture that is the value.
    Regex { regex: String, group: Option<usize> },
    /// A value right after one of `labels` (and separators: spaces, `:`, `=`, `は`), matched
    /// by `regex` anchored there: `パスワード：Xy7!kq2`, where no ASCII pattern can see the label.
    /// Labels match case-sensitively after width folding; ASCII labels belong in a `regex`.
    AfterLabel { labels: Vec<String>, regex: String, group: Option<usize> },
}

#[derive(Clone, Debug)]
pub struct KeywordGroup {
    pub id: String,
    pub terms: Vec<String>,
    pub word: Option<bool>,
    pub case_sensitive: bool,
    /// A narrower window than the type's, for this group only.
    pub proximity: Option<usize>,
    /// Count only occurrences before the value (a label: `注文番号 2026...`, `version 1.2.3.4`).
    pub before_only: bool,
}

/// A confidence rule: the first whose conditions hold gives the candidate its level.
#[derive(Clone, Debug)]
pub struct Rule {
    pub level: Confidence,
    /// Keyword group indexes that must all be within proximity.
    pub all: Vec<usize>,
    /// Keyword group indexes of which at least one must be within proximity.
    pub any: Vec<usize>,
    /// Keyword group indexes of which none may be within proximity.
    pub none: Vec<usize>,
    /// Pattern indexes this rule applies to; empty for all.
    pub patterns: Vec<usize>,
    pub formatted: Option<bool>,
    /// Validators that recognize a look-alike (a product barcode, a timestamp): the rule does
    /// not apply to a value any of them accepts.
    pub unless: Vec<Validator>,
}

#[derive(Clone, Debug)]
pub struct Example {
    pub text: String,
    pub value: Option<String>,
    pub confidence: Option<Confidence>,
}

/// The 1-based line of a byte offset in `src`.
pub fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses and checks one definition file. `source` names it in errors.
pub fn parse_file(source: &str, src: &str) -> Result<Vec<TypeDef>, Error> {
    let err = |offset: usize, field: String, message: String| Error::Definition {
        file: source.to_string(),
        line: line_of(src, offset),
        field,
        message,
    };
    let file: TypeFile = toml::from_str(src).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        err(offset, "-".into(), e.message().trim().to_string())
    })?;
    let mut out = Vec::new();
    for spanned in file.types {
        let start = spanned.span().start;
        let raw = spanned.into_inner();
        let id = raw.id.get_ref().clone();
        let at = |f: &str| format!("type {id}: {f}");
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(err(raw.id.span().start, at("id"), "an id is lowercase letters, digits and '-'".into()));
        }
        let group_names: Vec<String> = raw.keywords.keys().cloned().collect();
        let mut keywords = Vec::new();
        for (gid, g) in &raw.keywords {
            let word = match g.style.as_ref().map(|s| s.get_ref().as_str()) {
                None | Some("auto") => None,
                Some("word") => Some(true),
                Some("substring") | Some("string") => Some(false),
                Some(other) => {
                    let s = g.style.as_ref().unwrap().span().start;
                    return Err(err(
                        s,
                        at(&format!("keywords.{gid}.match")),
                        format!("unknown match style {other:?} (word, substring or auto)"),
                    ));
                }
            };
            if g.terms.iter().any(|t| t.trim().is_empty()) {
                return Err(err(start, at(&format!("keywords.{gid}.terms")), "empty keyword term".into()));
            }
            keywords.push(KeywordGroup {
                id: gid.clone(),
                terms: g.terms.clone(),
                word,
                case_sensitive: g.case_sensitive,
                proximity: g.proximity,
                before_only: g.before_only,
            });
        }
        if raw.patterns.is_empty() {
            return Err(err(start, at("pattern"), "a type needs at least one [[type.pattern]]".into()));
        }
        let mut patterns = Vec::new();
        for (pi, sp) in raw.patterns.iter().enumerate() {
            let p = sp.get_ref();
            let field = |f: &str| at(&format!("pattern[{pi}].{f}"));
            if !p.after.is_empty() && p.regex.is_none() {
                return Err(err(
                    sp.span().start,
                    field("after"),
                    "`after` labels go with a `regex` for the value".into(),
                ));
            }
            let shape = match (&p.regex, &p.digits) {
                (Some(re), None) => {
                    // parsing is enough to catch a user's mistakes, and costs far less than
                    // compiling (the engine compiles every pattern once, all together)
                    let parsed =
                        regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(re.get_ref());
                    if let Err(e) = parsed {
                        return Err(err(re.span().start, field("regex"), format!("invalid regex: {e}")));
                    }
                    if !re.get_ref().is_ascii() {
                        return Err(err(
                            re.span().start,
                            field("regex"),
                            "patterns are ASCII: they run on text whose full-width characters are folded".into(),
                        ));
                    }
                    if p.after.is_empty() {
                        Shape::Regex { regex: re.get_ref().clone(), group: p.group }
                    } else {
                        Shape::AfterLabel { labels: p.after.clone(), regex: re.get_ref().clone(), group: p.group }
                    }
                }
                (None, Some(d)) => {
                    let lengths = d.get_ref().clone();
                    if lengths.is_empty() || lengths.iter().any(|&l| l == 0 || l > 32) {
                        return Err(err(d.span().start, field("digits"), "digit counts are 1..=32".into()));
                    }
                    let mut groups = Vec::new();
                    let mut any_grouping = false;
                    for g in &p.groups {
                        if g.get_ref() == "any" {
                            any_grouping = true;
                            continue;
                        }
                        let parts: Result<Vec<usize>, _> = g.get_ref().split('-').map(|x| x.parse::<usize>()).collect();
                        match parts {
                            Ok(parts) if lengths.contains(&parts.iter().sum()) && parts.len() > 1 => {
                                groups.push(parts)
                            }
                            _ => {
                                return Err(err(
                                    g.span().start,
                                    field("groups"),
                                    format!(
                                        "grouping {:?} must be digit counts joined by '-' adding up to one of {lengths:?}, or \"any\"",
                                        g.get_ref()
                                    ),
                                ))
                            }
                        }
                    }
                    let separators = p.separators.clone().unwrap_or_else(|| " -".into());
                    if !separators.bytes().all(|b| b" -./".contains(&b)) {
                        return Err(err(
                            sp.span().start,
                            field("separators"),
                            "separators are some of ' ', '-', '.', '/'".into(),
                        ));
                    }
                    Shape::Digits {
                        lengths,
                        groups,
                        any_grouping,
                        unseparated: p.unseparated.unwrap_or(true),
                        separators: separators.into_bytes(),
                    }
                }
                _ => {
                    return Err(err(
                        sp.span().start,
                        field("regex"),
                        "a pattern has exactly one of `regex` or `digits`".into(),
                    ))
                }
            };
            let mut validators = Vec::new();
            for v in &p.validators {
                match Validator::parse(v.get_ref()) {
                    Ok(val) => validators.push(val),
                    Err(m) => return Err(err(v.span().start, field("validators"), m)),
                }
            }
            patterns.push(PatternDef {
                name: p.name.clone().unwrap_or_else(|| format!("pattern{pi}")),
                shape,
                validators,
            });
        }
        let pattern_names: Vec<String> = patterns.iter().map(|p| p.name.clone()).collect();
        let mut rules = Vec::new();
        for (ri, sr) in raw.rules.iter().enumerate() {
            let r = sr.get_ref();
            let field = |f: &str| at(&format!("confidence[{ri}].{f}"));
            let level: Confidence =
                r.level.get_ref().parse().map_err(|m| err(r.level.span().start, field("level"), m))?;
            let lookup = |list: &Vec<Spanned<String>>, name: &str| -> Result<Vec<usize>, Error> {
                list.iter()
                    .map(|g| {
                        group_names.iter().position(|n| n == g.get_ref()).ok_or_else(|| {
                            err(
                                g.span().start,
                                field(name),
                                format!("no keyword group {:?} (have: {})", g.get_ref(), group_names.join(", ")),
                            )
                        })
                    })
                    .collect()
            };
            let pats = r
                .patterns
                .iter()
                .map(|n| {
                    pattern_names.iter().position(|p| p == n.get_ref()).ok_or_else(|| {
                        err(n.span().start, field("patterns"), format!("no pattern named {:?}", n.get_ref()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut unless = Vec::new();
            for v in &r.unless {
                unless.push(Validator::parse(v.get_ref()).map_err(|m| err(v.span().start, field("unless"), m))?);
            }
            rules.push(Rule {
                unless,
                level,
                all: lookup(&r.all, "all")?,
                any: lookup(&r.any, "any")?,
                none: lookup(&r.none, "none")?,
                patterns: pats,
                formatted: r.formatted,
            });
        }
        if rules.is_empty() {
            return Err(err(start, at("confidence"), "a type needs at least one [[type.confidence]] rule".into()));
        }
        let mut examples = Vec::new();
        for (ei, e) in raw.examples.iter().enumerate() {
            let ex = e.get_ref();
            let confidence = match &ex.confidence {
                None => None,
                Some(c) => Some(
                    c.get_ref()
                        .parse()
                        .map_err(|m| err(c.span().start, at(&format!("example[{ei}].confidence")), m))?,
                ),
            };
            examples.push(Example { text: ex.text.clone(), value: ex.value.clone(), confidence });
        }
        out.push(TypeDef {
            id,
            name: raw.name,
            name_ja: raw.name_ja,
            category: raw.category,
            description: raw.description,
            purview: raw.purview,
            proximity: raw.proximity.unwrap_or(DEFAULT_PROXIMITY),
            contains: raw.contains,
            patterns,
            keywords,
            rules,
            examples,
            negatives: raw.negatives.into_iter().map(|n| n.text).collect(),
            source: source.to_string(),
        });
    }
    Ok(out)
}

/// A set of type definitions: the built-in catalog, plus any loaded from directories.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub types: Vec<TypeDef>,
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_types.rs"));
}

impl Catalog {
    /// The catalog embedded in the binary from `sensitive-types/`.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        for (name, src) in builtin::BUILTIN {
            let types = parse_file(&format!("sensitive-types/{name}"), src)
                .unwrap_or_else(|e| panic!("built-in catalog is checked by cargo test: {e}"));
            c.add(types);
        }
        c
    }

    /// Adds types; a type whose id is already present replaces the old definition.
    pub fn add(&mut self, types: Vec<TypeDef>) {
        for t in types {
            match self.types.iter_mut().find(|o| o.id == t.id) {
                Some(old) => *old = t,
                None => self.types.push(t),
            }
        }
    }

    /// Loads every `*.toml` file of a directory (or one file), checking each.
    pub fn load_path(path: &Path) -> Result<Vec<TypeDef>, Error> {
        let mut files = Vec::new();
        if path.is_dir() {
            let rd = std::fs::read_dir(path).map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
            for e in rd {
                let e = e.map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
                if e.path().extension().is_some_and(|x| x == "toml") {
                    files.push(e.path());
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for f in files {
            let src =
                std::fs::read_to_string(&f).map_err(|e| Error::Io { path: f.display().to_string(), source: e })?;
            let name = f.display().to_string();
            for t in parse_file(&name, &src)? {
                if let Some(prev) = seen.insert(t.id.clone(), name.clone()) {
                    return Err(Error::Definition {
                        file: name,
                        line: 1,
                        field: format!("type {}: id", t.id),
                        message: format!("id also defined in {prev}"),
                    });
                }
                out.push(t);
            }
        }
        Ok(out)
    }

    pub fn get(&self, id: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.id == id)
    }

    /// Keeps only the listed ids (an unknown id is an error naming it).
    pub fn retain_ids(&mut self, ids: &[String]) -> Result<(), Error> {
        for id in ids {
            if self.get(id).is_none() {
                return Err(Error::UnknownType(id.clone()));
            }
        }
        self.types.retain(|t| ids.contains(&t.id));
        Ok(())
    }
}
