//! The query language of `mamori search`: `field:value` terms joined by `AND`, `OR`, `NOT`
//! (or `-`) and parentheses; terms side by side are joined by AND.
//!
//! Values may be quoted (`label:"Confidential/All Employees"`) and may hold globs: `*` is any
//! run of characters (`/` included), `?` one character. Path values match the end of the
//! path, at a `/`: `path:share/hr/*` finds `/srv/corpus/share/hr/list.txt`, and a path
//! without a glob finds the file or folder and everything under it. Other fields compare
//! whole values, ignoring case. `size` takes a comparison: `size:>1M`. A bare word is a path
//! glob; `*` alone selects everything.

/// Fields a term may name (besides `size`).
pub const FIELDS: [&str; 15] = [
    "path",
    "file",
    "repository",
    "type",
    "confidence",
    "label",
    "recommended",
    "method",
    "status",
    "reason",
    "format",
    "posture",
    "protected",
    "nested",
    "action",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    All,
    Term { field: String, value: String },
    Size { op: Cmp, bytes: u64 },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Word(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '-' if out.last().is_none_or(|t| !matches!(t, Tok::Word(_))) => {
                chars.next();
                out.push(Tok::Not);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' {
                        break;
                    }
                    chars.next();
                    if c == '"' {
                        loop {
                            match chars.next() {
                                Some('"') => break,
                                Some('\\') => word.extend(chars.next()),
                                Some(c) => word.push(c),
                                None => return Err("a quote is not closed".into()),
                            }
                        }
                    } else {
                        word.push(c);
                    }
                }
                out.push(match word.as_str() {
                    "AND" | "&&" => Tok::And,
                    "OR" | "||" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Word(word),
                });
            }
        }
    }
    Ok(out)
}

/// Parses a query; the error says what is wrong where.
pub fn parse(s: &str) -> Result<Expr, String> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err("the query is empty (`*` selects everything)".into());
    }
    let mut p = Parser { toks, at: 0 };
    let e = p.or()?;
    match p.toks.get(p.at) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {t:?} at term {}", p.at + 1)),
    }
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and()?];
        while self.toks.get(self.at) == Some(&Tok::Or) {
            self.at += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { Expr::Or(v) })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.unary()?];
        loop {
            match self.toks.get(self.at) {
                Some(Tok::And) => self.at += 1,
                Some(Tok::Or | Tok::Close) | None => break,
                Some(_) => {}
            }
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { Expr::And(v) })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        let t = self.toks.get(self.at).ok_or("the query ends where a term was expected")?;
        self.at += 1;
        match t {
            Tok::Not => Ok(Expr::Not(Box::new(self.unary()?))),
            Tok::Open => {
                let e = self.or()?;
                if self.toks.get(self.at) != Some(&Tok::Close) {
                    return Err("a parenthesis is not closed".into());
                }
                self.at += 1;
                Ok(e)
            }
            Tok::Word(w) => term(w),
            t => Err(format!("unexpected {t:?} where a term was expected")),
        }
    }
}

fn term(w: &str) -> Result<Expr, String> {
    if w == "*" {
        return Ok(Expr::All);
    }
    let Some((field, value)) = w.split_once(':') else {
        return Ok(Expr::Term { field: "path".into(), value: format!("*{w}*") });
    };
    let field = field.to_lowercase();
    if field == "size" {
        return size(value);
    }
    if !FIELDS.contains(&field.as_str()) {
        return Err(format!("unknown field {field:?} (fields: {}, size)", FIELDS.join(", ")));
    }
    if value.is_empty() {
        return Err(format!("{field}: needs a value"));
    }
    Ok(Expr::Term { field, value: value.to_string() })
}

fn size(v: &str) -> Result<Expr, String> {
    let (op, rest) = [(">=", Cmp::Ge), ("<=", Cmp::Le), (">", Cmp::Gt), ("<", Cmp::Lt), ("=", Cmp::Eq)]
        .into_iter()
        .find_map(|(p, op)| v.strip_prefix(p).map(|r| (op, r)))
        .unwrap_or((Cmp::Eq, v));
    let upper = rest.to_ascii_uppercase();
    let digits = upper.trim_end_matches(['K', 'M', 'G', 'B']);
    let scale = match upper[digits.len()..].trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("size:{v}: expected a number of bytes, e.g. size:>10M")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("size:{v}: expected a number of bytes, e.g. size:>10M"))?;
    Ok(Expr::Size { op, bytes: n.saturating_mul(scale) })
}

/// The regex a glob value stands for, or `None` for a plain value of a whole-value field.
/// Path values (`anchored_paths`) match at a `/` boundary up to the end.
pub fn glob_regex(value: &str, path: bool) -> Option<String> {
    let globbed = value.contains(['*', '?']);
    if !globbed && !path {
        return None;
    }
    let mut re = String::new();
    if path && !value.starts_with('/') && !value.starts_with('*') {
        re.push_str("(.*/)?");
    }
    for c in value.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => {
                let mut buf = [0u8; 4];
                re.push_str(&regex_escape(c.encode_utf8(&mut buf)));
            }
        }
    }
    if path && !globbed {
        // a file, or a folder and everything in it (and in its archives)
        re.push_str("([/!].*)?");
    }
    Some(re)
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = r"\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(f: &str, v: &str) -> Expr {
        Expr::Term { field: f.into(), value: v.into() }
    }

    #[test]
    fn parses_boolean_queries() {
        assert_eq!(
            parse("type:jp-my-number AND label:Public").unwrap(),
            Expr::And(vec![t("type", "jp-my-number"), t("label", "Public")])
        );
        assert_eq!(parse("a:b").unwrap_err(), "unknown field \"a\" (fields: path, file, repository, type, confidence, label, recommended, method, status, reason, format, posture, protected, nested, action, size)");
        assert_eq!(
            parse("(status:skipped OR status:error) -format:zip").unwrap(),
            Expr::And(vec![
                Expr::Or(vec![t("status", "skipped"), t("status", "error")]),
                Expr::Not(Box::new(t("format", "zip")))
            ])
        );
        assert_eq!(parse(r#"label:"Confidential/All Employees""#).unwrap(), t("label", "Confidential/All Employees"));
        assert_eq!(parse("size:>=10M").unwrap(), Expr::Size { op: Cmp::Ge, bytes: 10 << 20 });
        assert_eq!(parse("hr").unwrap(), t("path", "*hr*"));
        assert_eq!(parse("type:jp-*").unwrap(), t("type", "jp-*"));
        assert!(parse("(type:x").is_err());
        assert!(parse("").is_err());
        assert!(parse("label:\"open").is_err());
    }
}
