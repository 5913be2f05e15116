//! `mamori types`: list the catalog, check a user's definitions, export candidate patterns.

use clap::Subcommand;
use mamori_detect::defs::Shape;
use mamori_detect::{check_examples, Catalog, Engine};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum TypesCommand {
    /// List the sensitive information types (built-in, plus --types).
    List {
        #[arg(long)]
        json: bool,
        /// Also load definitions from this directory or file (repeatable).
        #[arg(long = "types")]
        types: Vec<PathBuf>,
    },
    /// Check definition files: syntax, fields, regexes, validators, and their examples.
    Check {
        /// A directory of *.toml files, or one file.
        path: PathBuf,
    },
    /// Print every candidate pattern as one ASCII regex per line (a grep/ripgrep baseline).
    Patterns,
}

pub fn run(c: TypesCommand) -> anyhow::Result<u8> {
    match c {
        TypesCommand::List { json, types } => {
            let catalog = crate::load_catalog(&types, &[])?;
            if json {
                let rows: Vec<_> = catalog
                    .types
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id,
                            "name": t.name,
                            "name_ja": t.name_ja,
                            "category": t.category,
                            "description": t.description,
                            "purview_entity": t.purview,
                            "proximity": t.proximity,
                            "levels": t.rules.iter().map(|r| r.level).collect::<Vec<_>>(),
                            "keywords": t.keywords.iter().map(|k| k.terms.len()).sum::<usize>(),
                            "source": t.source,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for t in &catalog.types {
                    let ja = t.name_ja.as_deref().map(|j| format!(" ({j})")).unwrap_or_default();
                    let mut levels: Vec<&str> = t.rules.iter().map(|r| r.level.as_str()).collect();
                    levels.dedup();
                    println!("{:<36} {:<12} {:<18} {}{}", t.id, t.category, levels.join("/"), t.name, ja);
                }
                eprintln!("{} types", catalog.types.len());
            }
            Ok(0)
        }
        TypesCommand::Check { path } => {
            let types = Catalog::load_path(&path)?;
            let ids: Vec<String> = types.iter().map(|t| t.id.clone()).collect();
            let mut catalog = Catalog::builtin();
            catalog.add(types);
            let engine = Engine::new(&catalog)?;
            let failures = check_examples(&engine, &ids);
            for f in &failures {
                eprintln!("{f}");
            }
            if failures.is_empty() {
                println!("{}: {} types OK", path.display(), ids.len());
                Ok(0)
            } else {
                eprintln!("{} example failures", failures.len());
                Ok(2)
            }
        }
        TypesCommand::Patterns => {
            for t in &Catalog::builtin().types {
                for p in &t.patterns {
                    println!("{}", pattern_regex(&p.shape));
                }
            }
            Ok(0)
        }
    }
}

/// The candidate pattern of a shape as one regex (digit shapes become an equivalent regex).
fn pattern_regex(shape: &Shape) -> String {
    match shape {
        Shape::Regex { regex, .. } => regex.clone(),
        Shape::AfterLabel { labels, regex, .. } => {
            let labels: Vec<String> = labels.iter().map(|l| regex_escape(l)).collect();
            format!("(?:{})[ \\t:=]*{regex}", labels.join("|"))
        }
        Shape::Digits { lengths, groups, any_grouping, separators, .. } => {
            let sep: String = separators.iter().map(|&b| format!("\\x{b:02x}")).collect();
            let mut alts: Vec<String> = lengths.iter().map(|l| format!("\\d{{{l}}}")).collect();
            for g in groups {
                alts.push(g.iter().map(|n| format!("\\d{{{n}}}")).collect::<Vec<_>>().join(&format!("[{sep}]")));
            }
            if *any_grouping {
                alts.push(format!("\\d(?:[{sep}]?\\d)+"));
            }
            format!("\\b(?:{})\\b", alts.join("|"))
        }
    }
}

/// Escapes regex metacharacters in a label.
fn regex_escape(s: &str) -> String {
    s.chars().flat_map(|c| if "\\.+*?()|[]{}^$#&-~".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}
