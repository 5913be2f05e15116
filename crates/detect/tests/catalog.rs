//! The built-in catalog: it loads, it has the contract ids, and every example holds.

use mamori_detect::{check_examples, Catalog, Confidence, Engine};

const REQUIRED: &[&str] = &[
    "credit-card-number",
    "email-address",
    "iban",
    "ip-address",
    "us-ssn",
    "jp-my-number",
    "jp-corporate-number",
    "jp-passport-number",
    "jp-drivers-license-number",
    "jp-bank-account-number",
    "jp-residence-card-number",
    "jp-phone-number",
    "jp-resident-registration-number",
    "jp-social-insurance-number",
    "aws-access-key-id",
    "aws-secret-access-key",
    "github-token",
    "private-key",
    "slack-token",
    "jwt",
];

#[test]
fn catalog_has_contract_ids_and_fifty_types() {
    let c = Catalog::builtin();
    for id in REQUIRED {
        assert!(c.get(id).is_some(), "missing required type {id}");
    }
    assert!(c.types.len() >= 50, "only {} types", c.types.len());
}

#[test]
fn every_example_and_negative_example_holds() {
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let failures = check_examples(&engine, &[]);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

fn find(text: &str) -> Vec<(String, String, Confidence)> {
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    engine
        .scan(text)
        .into_iter()
        .map(|d| (engine.types()[d.type_index].id.clone(), text[d.start..d.end].to_string(), d.confidence))
        .collect()
}

#[test]
fn japanese_text_needs_no_word_boundary() {
    let got = find("番号は4111111111111111です");
    assert!(got.iter().any(|(t, v, _)| t == "credit-card-number" && v == "4111111111111111"), "{got:?}");
}

#[test]
fn overlapping_number_shapes_are_all_found() {
    // a card and a My Number on one line, and keywords for both
    let got = find("カード番号 4111 1111 1111 1111、マイナンバー 6214 9832 0257");
    assert!(got.iter().any(|(t, _, c)| t == "credit-card-number" && *c == Confidence::High), "{got:?}");
    assert!(
        got.iter().any(|(t, v, c)| t == "jp-my-number" && v == "6214 9832 0257" && *c == Confidence::High),
        "{got:?}"
    );
}

#[test]
fn offsets_map_back_to_full_width_original() {
    let text = "ＩＤ：マイナンバー　６２１４－９８３２－０２５７。";
    let got = find(text);
    assert!(got.iter().any(|(t, v, _)| t == "jp-my-number" && v == "６２１４－９８３２－０２５７"), "{got:?}");
}

#[test]
fn keyword_outside_proximity_does_not_count() {
    let far = format!("マイナンバー{}6214 9832 0257", "。".repeat(400));
    let got = find(&far);
    assert!(got.iter().any(|(t, _, c)| t == "jp-my-number" && *c == Confidence::Low), "{got:?}");
}

#[test]
fn definition_errors_name_file_line_and_field() {
    let src = "[[type]]\nid = \"x-1\"\nname = \"X\"\ncategory = \"c\"\n[[type.pattern]]\ndigits = [4]\nvalidators = [\"nope\"]\n[[type.confidence]]\nlevel = \"high\"\n";
    let err = mamori_detect::defs::parse_file("my.toml", src).unwrap_err().to_string();
    assert!(err.starts_with("my.toml:7: type x-1: pattern[0].validators: unknown validator \"nope\""), "{err}");
    let bad_toml = "[[type]]\nid = \"x\"\nname = 3\n";
    let err = mamori_detect::defs::parse_file("b.toml", bad_toml).unwrap_err().to_string();
    assert!(err.starts_with("b.toml:3:"), "{err}");
}

/// Random text built from the pieces that stress folding and the digit scanner: every span
/// the engine reports must slice the original on character boundaries, and nothing panics.
#[test]
fn random_mixed_text_never_panics_and_spans_are_valid() {
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let pieces = [
        "1",
        "4",
        "0",
        " ",
        "-",
        ".",
        "－",
        "ー",
        "１",
        "４",
        "０",
        "　",
        "ｱ",
        "あ",
        "番号",
        "マイナンバー",
        "card number ",
        "@",
        "ｅ",
        ":",
        "A",
        "K",
        "\n",
        "é",
        "€",
        "🎌",
        "T",
        "=",
        "'",
        "\"",
        "/",
        "eyJ",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 80) as usize;
        let text: String = (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
        for d in engine.scan(&text) {
            assert!(
                d.start < d.end && text.is_char_boundary(d.start) && text.is_char_boundary(d.end),
                "{text:?} {d:?}"
            );
        }
    }
}

/// The keyword is the column header, the value 200 rows below it: only the layout the
/// extractor hands over says the two belong together.
#[test]
fn a_column_header_is_near_every_cell_of_its_column() {
    use mamori_model::{LabeledSpan, Layout};
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let mut text = String::from("社員番号,氏名,個人番号\n");
    for i in 0..200 {
        text.push_str(&format!("{:06},山田 太郎,{}\n", 100000 + i, if i == 199 { "621498320257" } else { "-" }));
    }
    let at = text.find("621498320257").unwrap();
    let level = |layout: Option<&Layout>| {
        engine
            .scan_with(&text, layout)
            .into_iter()
            .find(|d| engine.types()[d.type_index].id == "jp-my-number" && d.start == at)
            .map(|d| d.confidence)
    };
    assert_eq!(level(None), Some(Confidence::Low), "out of the keyword window");
    let layout = Layout {
        labels: vec!["個人番号".into(), "氏名".into()],
        spans: vec![LabeledSpan { start: at, end: at + 12, column: Some(0), row: None }],
    };
    assert_eq!(level(Some(&layout)), Some(Confidence::High));
    // a header naming another kind of number rules the value out, as a label before it would
    let order = Layout { labels: vec!["注文番号".into()], ..layout.clone() };
    assert_eq!(level(Some(&order)), None);
}

#[test]
fn keywords_as_code_and_legacy_systems_write_them() {
    let high = |text: &str, id: &str| find(text).iter().any(|(t, _, c)| t == id && *c == Confidence::High);
    // camelCase, snake_case, kebab-case and upper case identifiers hold the keyword
    assert!(high(r#"{"employeeSsn": "536-90-4399"}"#, "us-ssn"));
    assert!(high("SOCIAL_SECURITY_NUMBER=536-90-4399", "us-ssn"));
    assert!(high("social-security-number: 536-90-4399", "us-ssn"));
    assert!(find("socialSecurityNumber: 536904399").iter().any(|(t, _, c)| t == "us-ssn" && *c >= Confidence::Medium));
    // half-width katakana, as old mainframe exports write it
    assert!(high("ﾏｲﾅﾝﾊﾞｰ 6214 9832 0257", "jp-my-number"));
    // but a keyword glued inside another word is still not a keyword
    assert!(!high("unssnapped 536-90-4399", "us-ssn"));
}

#[test]
fn look_alikes_of_checksummed_numbers_stay_low_or_out() {
    let level = |text: &str, id: &str| find(text).into_iter().find(|(t, _, _)| t == id).map(|(_, _, c)| c);
    // 13-digit numbers pass the 法人番号 check one time in nine: alone they are low at most
    assert_eq!(level("ref 9199351819093", "jp-corporate-number"), Some(Confidence::Low));
    assert_eq!(level("法人番号 9199351819093", "jp-corporate-number"), Some(Confidence::High));
    // epoch-millisecond timestamps and JAN barcodes are not reported without a keyword
    assert_eq!(level("1733000000003 INFO request done", "jp-corporate-number"), None);
    assert_eq!(level("JAN 4901234561090", "jp-corporate-number"), None);
    // jwt.io's sample token is low, and says why
    let engine = Engine::new(&Catalog::builtin()).unwrap();
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    let d = engine.scan(jwt).into_iter().find(|d| engine.types()[d.type_index].id == "jwt").unwrap();
    assert_eq!((d.confidence, d.note), (Confidence::Low, Some("documentation example")));
}
