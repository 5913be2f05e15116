//! Named validators: checks that run only on candidates, never on whole text.
//!
//! Each is a plain function of the candidate; a type lists the ones that must all pass.
//! Check-digit algorithms follow their published definitions (python-stdnum is the test oracle
//! for the fixtures in `tests/`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// What a validator sees: the value as matched (folded to ASCII), its digits, and where it sits
/// in the folded text (some checks look at neighbours, e.g. a PEM block's END line).
pub struct Candidate<'a> {
    pub value: &'a str,
    pub digits: &'a [u8],
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validator {
    Luhn,
    CardIin,
    Iban,
    JpMyNumber,
    JpCorporateNumber,
    UsSsn,
    UsItin,
    AbaRouting,
    Ipv4,
    Ipv6,
    Email,
    Jwt,
    PemBlock,
    Entropy(f32),
    MixedCase,
    JpPhone,
    NotRepeated,
    NotSequential,
    NotDate,
    NotPlaceholder,
    UkNhs,
    UkNino,
    AuTfn,
    Verhoeff,
    BrCpf,
    EsDni,
    CnResidentId,
    SgNric,
    KrRrn,
    FrInsee,
    StandaloneBase64,
    Ean13Product,
    EpochMillis,
    NotCode,
    WordStart,
    SettingLine,
}

/// Every validator name, for `mamori types list` and error messages.
pub const NAMES: &[&str] = &[
    "luhn",
    "card_iin",
    "iban",
    "jp_my_number",
    "jp_corporate_number",
    "us_ssn",
    "us_itin",
    "aba_routing",
    "ipv4",
    "ipv6",
    "email",
    "jwt",
    "pem_block",
    "entropy:<bits>",
    "mixed_case",
    "jp_phone",
    "not_repeated",
    "not_sequential",
    "not_date",
    "not_placeholder",
    "uk_nhs",
    "uk_nino",
    "au_tfn",
    "verhoeff",
    "br_cpf",
    "es_dni",
    "cn_resident_id",
    "sg_nric",
    "kr_rrn",
    "fr_insee",
    "standalone_base64",
    "ean13_product",
    "epoch_millis",
    "not_code",
    "word_start",
    "setting_line",
];

impl Validator {
    pub fn parse(name: &str) -> Result<Validator, String> {
        use Validator::*;
        if let Some(bits) = name.strip_prefix("entropy:") {
            return bits
                .parse::<f32>()
                .ok()
                .filter(|b| (0.0..=8.0).contains(b))
                .map(Entropy)
                .ok_or_else(|| format!("entropy takes bits per character 0..8, got {bits:?}"));
        }
        Ok(match name {
            "luhn" => Luhn,
            "card_iin" => CardIin,
            "iban" => Iban,
            "jp_my_number" => JpMyNumber,
            "jp_corporate_number" => JpCorporateNumber,
            "us_ssn" => UsSsn,
            "us_itin" => UsItin,
            "aba_routing" => AbaRouting,
            "ipv4" => Ipv4,
            "ipv6" => Ipv6,
            "email" => Email,
            "jwt" => Jwt,
            "pem_block" => PemBlock,
            "mixed_case" => MixedCase,
            "jp_phone" => JpPhone,
            "not_repeated" => NotRepeated,
            "not_sequential" => NotSequential,
            "not_date" => NotDate,
            "not_placeholder" => NotPlaceholder,
            "uk_nhs" => UkNhs,
            "uk_nino" => UkNino,
            "au_tfn" => AuTfn,
            "verhoeff" => Verhoeff,
            "br_cpf" => BrCpf,
            "es_dni" => EsDni,
            "cn_resident_id" => CnResidentId,
            "sg_nric" => SgNric,
            "kr_rrn" => KrRrn,
            "fr_insee" => FrInsee,
            "standalone_base64" => StandaloneBase64,
            "ean13_product" => Ean13Product,
            "epoch_millis" => EpochMillis,
            "not_code" => NotCode,
            "word_start" => WordStart,
            "setting_line" => SettingLine,
            _ => return Err(format!("unknown validator {name:?} (known: {})", NAMES.join(", "))),
        })
    }

    pub fn check(&self, c: &Candidate) -> bool {
        use Validator::*;
        let d = c.digits;
        match *self {
            Luhn => luhn(d),
            CardIin => card_iin(d),
            Iban => iban(c.value),
            JpMyNumber => jp_my_number(d),
            JpCorporateNumber => jp_corporate_number(d),
            UsSsn => us_ssn(d),
            UsItin => d.len() == 9 && d[0] == b'9' && matches!(num(&d[3..5]), 50..=65 | 70..=88 | 90..=92 | 94..=99),
            AbaRouting => aba_routing(d),
            Ipv4 => ipv4(c),
            Ipv6 => c.value.parse::<Ipv6Addr>().is_ok(),
            Email => email(c.value),
            Jwt => jwt(c.value),
            PemBlock => pem_block(c),
            Entropy(min) => entropy(c.value.as_bytes()) >= min as f64,
            MixedCase => {
                let v = c.value.as_bytes();
                v.iter().any(u8::is_ascii_uppercase)
                    && v.iter().any(u8::is_ascii_lowercase)
                    && v.iter().any(u8::is_ascii_digit)
            }
            JpPhone => jp_phone(d),
            NotRepeated => !d.is_empty() && !d.iter().all(|&x| x == d[0]) && !repeated_chars(c.value),
            NotSequential => !sequential(d),
            NotDate => !date_prefix(d),
            // in a URL only the credentials can be a placeholder: `db.example.com` is a host
            NotPlaceholder => !placeholder(if c.value.contains("://") {
                c.value.rsplit_once('@').map_or(c.value, |(creds, _)| creds)
            } else {
                c.value
            }),
            UkNhs => uk_nhs(d),
            UkNino => uk_nino(c.value),
            AuTfn => au_tfn(d),
            Verhoeff => d.len() == 12 && d[0] >= b'2' && verhoeff(d),
            BrCpf => br_cpf(d),
            EsDni => es_dni(c.value),
            CnResidentId => cn_resident_id(c.value),
            SgNric => sg_nric(c.value),
            KrRrn => kr_rrn(d),
            FrInsee => fr_insee(c.value),
            Ean13Product => ean13_product(d),
            NotCode => !code(c.value),
            // nothing glued before the value: `::1` is an address, `std::add` is code
            WordStart => c.text[..c.start]
                .bytes()
                .next_back()
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')),
            SettingLine => setting_line(&c.text[c.text[..c.start].rfind('\n').map_or(0, |i| i + 1)..c.start]),
            EpochMillis => d.len() == 13 && (&b"1000000000000"[..]..&b"2200000000000"[..]).contains(&d),
            StandaloneBase64 => {
                // the value is the whole base64 run, not 40 characters cut from a longer blob
                let b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
                let t = c.text.as_bytes();
                let glued_before = c.start > 0 && b64(&t[c.start - 1]);
                let glued_after = t.get(c.end).is_some_and(|b| b64(b) || *b == b'=');
                !glued_before && !glued_after
            }
        }
    }
}

fn num(d: &[u8]) -> u64 {
    d.iter().fold(0, |a, &x| a * 10 + (x - b'0') as u64)
}

pub fn luhn(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = (x - b'0') as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Issuer prefixes of the major card brands, with the lengths each issues.
fn card_iin(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| num(&d[..k.min(n)]);
    match d[0] {
        b'1' => n == 15,                   // UATP
        b'4' => matches!(n, 13 | 16 | 19), // Visa
        b'5' => {
            let mastercard = (51..=55).contains(&p(2)) && n == 16;
            let dankort = p(4) == 5019 && n == 16;
            let maestro = matches!(p(2), 50 | 56..=58) && (13..=19).contains(&n);
            mastercard || dankort || maestro
        }
        b'2' => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        b'3' => {
            (matches!(p(2), 34 | 37) && n == 15)                                                   // Amex
                || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&n))                       // JCB
                || (((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && (14..=19).contains(&n))
            // Diners
        }
        b'6' => {
            (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)) || p(2) == 62) && (16..=19).contains(&n)
                || matches!(p(4), 6304 | 6759 | 6761..=6763) && (13..=19).contains(&n)
            // Maestro
        }
        _ => false,
    }
}

/// Lengths of IBANs per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

fn iban(value: &str) -> bool {
    let s: Vec<u8> = value.bytes().filter(|b| *b != b' ').map(|b| b.to_ascii_uppercase()).collect();
    if s.len() < 15 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let cc = std::str::from_utf8(&s[..2]).unwrap_or("");
    match IBAN_LENGTHS.iter().find(|(c, _)| *c == cc) {
        Some(&(_, len)) if len == s.len() => {}
        _ => return false,
    }
    let mut rem = 0u32;
    for &b in s[4..].iter().chain(&s[..4]) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + (b - b'0') as u32) % 97;
        } else {
            rem = (rem * 100 + (b - b'A' + 10) as u32) % 97;
        }
    }
    rem == 1
}

/// 個人番号: weights 6,5,4,3,2,7,6,5,4,3,2 over the first 11 digits; check = 11 − (Σ mod 11),
/// 0 when the remainder is 0 or 1.
pub fn jp_my_number(d: &[u8]) -> bool {
    if d.len() != 12 {
        return false;
    }
    const W: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let r = d[..11].iter().zip(W).map(|(&x, w)| (x - b'0') as u32 * w).sum::<u32>() % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    (d[11] - b'0') as u32 == check
}

/// 法人番号: a leading check digit = 9 − (Σ mod 9) over the 12 base digits, weights 1,2,1,2…
/// from the right.
/// A product barcode: 13 digits with the EAN-13 check digit and a prefix of the Japanese
/// (JAN 45, 49) or book (ISBN 978, 979) ranges. Invoices and order lists are full of them, and
/// one in ten passes any other 13-digit checksum.
fn ean13_product(d: &[u8]) -> bool {
    if d.len() != 13
        || !(d.starts_with(b"45") || d.starts_with(b"49") || d.starts_with(b"978") || d.starts_with(b"979"))
    {
        return false;
    }
    let sum: u32 = d[..12].iter().enumerate().map(|(i, &x)| (x - b'0') as u32 * if i % 2 == 0 { 1 } else { 3 }).sum();
    (10 - sum % 10) % 10 == (d[12] - b'0') as u32
}

pub fn jp_corporate_number(d: &[u8]) -> bool {
    if d.len() != 13 || d[0] == b'0' {
        return false;
    }
    let s: u32 =
        d[1..].iter().rev().enumerate().map(|(i, &x)| (x - b'0') as u32 * if i % 2 == 0 { 1 } else { 2 }).sum();
    (d[0] - b'0') as u32 == 9 - s % 9
}

fn us_ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let (area, group, serial) = (num(&d[..3]), num(&d[3..5]), num(&d[5..]));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        // widely published sample numbers
        && !matches!(num(d), 78051120 | 219099999 | 123456789)
}

fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 || !matches!(num(&d[..2]), 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|&x| (x - b'0') as u32).collect();
    (3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8])).is_multiple_of(10)
}

fn ipv4(c: &Candidate) -> bool {
    let Ok(ip) = c.value.parse::<Ipv4Addr>() else {
        return false;
    };
    let t = c.text.as_bytes();
    // "1.2.3.4.5" is a version or an OID, not an address
    let glued_before = c.start >= 2 && t[c.start - 1] == b'.' && t[c.start - 2].is_ascii_digit();
    let glued_after = c.end + 1 < t.len() && t[c.end] == b'.' && t[c.end + 1].is_ascii_digit();
    !glued_before && !glued_after && !ip.is_unspecified() && ip.octets()[0] != 0
}

fn email(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !v.contains("..")
        && domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        && domain.len() <= 253
        && domain.split('.').all(|l| l.len() <= 63)
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| (2..=24).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        // `logo@2x.png`, `icon@3x.webp`: image names of retina assets, not mailboxes
        && !domain.rsplit('.').next().is_some_and(|tld| {
            ["png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js"].iter().any(|x| tld.eq_ignore_ascii_case(x))
        })
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A JWT's header is base64url JSON naming its algorithm.
fn jwt(v: &str) -> bool {
    let mut parts = v.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let signed = parts.next().is_some_and(|s| !s.is_empty());
    let dec = |x: &str| b64url_decode(x).and_then(|b| String::from_utf8(b).ok());
    // an empty signature is a token only when its header says it is unsigned (`alg: none`)
    let unsigned = |h: &str| h.split_whitespace().collect::<String>().contains("\"alg\":\"none\"");
    matches!((dec(h), dec(p)), (Some(h), Some(p)) if h.trim_start().starts_with('{') && h.contains("\"alg\"") && p.trim_start().starts_with('{') && (signed || unsigned(&h)))
}

/// A PEM private key header is real when an END line follows with a body of key material.
fn pem_block(c: &Candidate) -> bool {
    let rest = &c.text[c.end..c.text.len().min(c.end + 65536)];
    let Some(end) = rest.find("-----END ") else {
        return false;
    };
    let body = &rest[..end];
    let b64 = body.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/').count();
    b64 >= 64 && !placeholder(body)
}

/// Shannon entropy in bits per byte.
pub fn entropy(v: &[u8]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in v {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Japanese numbering plan: mobile 070/080/090, IP 050, M2M 020 and free dial 0800 have 11
/// digits; fixed lines (area codes 01–09), 0120 and 0570 have 10.
fn jp_phone(d: &[u8]) -> bool {
    if d.first() != Some(&b'0') || d.get(1) == Some(&b'0') {
        return false;
    }
    let p3 = num(&d[..3.min(d.len())]);
    let eleven = matches!(p3, 20 | 50 | 60 | 70 | 80 | 90) || num(&d[..4.min(d.len())]) == 800;
    match d.len() {
        11 => eleven,
        10 => !eleven,
        _ => false,
    }
}

fn repeated_chars(v: &str) -> bool {
    let an: Vec<u8> = v.bytes().filter(u8::is_ascii_alphanumeric).collect();
    an.len() >= 8 && an.iter().all(|&x| x == an[0])
}

/// 123456789012 or 987654321098: typed by a person testing a form, not an identifier.
fn sequential(d: &[u8]) -> bool {
    d.len() >= 6
        && (d.windows(2).all(|w| (w[1] + 10 - w[0]) % 10 == 1) || d.windows(2).all(|w| (w[0] + 10 - w[1]) % 10 == 1))
}

/// Order numbers and timestamps often start with a date: 20261016xxxx.
fn date_prefix(d: &[u8]) -> bool {
    if d.len() < 8 {
        return false;
    }
    let (y, m, day) = (num(&d[..4]), num(&d[4..6]), num(&d[6..8]));
    (1900..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&day)
}

/// Documentation samples and redactions: `AKIAIOSFODNN7EXAMPLE`, `xxxx`, `<password>`, `${SECRET}`.
/// True when `prefix`, the line before a value, is nothing but a setting's key: `  DB_PASSWORD=`,
/// `export PGPASSWORD=`, `spring.datasource.password = `, `password: ` (no words around it).
fn setting_line(prefix: &str) -> bool {
    let p = prefix.trim_start();
    let p = p.strip_prefix("export ").map_or(p, str::trim_start);
    let key_end = p.find(|c: char| c.is_whitespace() || c == ':' || c == '=').unwrap_or(p.len());
    key_end > 0 && p[key_end..].chars().all(|c| c == ' ' || c == '\t' || c == ':' || c == '=')
}

/// Values that documentation publishes for readers to copy: they pass every check, yet finding
/// one says nothing about a leak. The engine reports them at low, saying so. (AWS's
/// `AKIAIOSFODNN7EXAMPLE` pair is not here: `not_placeholder` already drops it.)
pub fn documentation_example(value: &str) -> bool {
    // jwt.io's sample token (HS256, sub 1234567890, John Doe), whatever its signature
    const JWT_IO: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lI";
    // the My Number of forms' and vendors' samples: 1 to 9, 0, 1 and its check digit 8
    const MY_NUMBER_SAMPLE: &str = "123456789018";
    // asked of every candidate: no allocation
    value.starts_with(JWT_IO)
        || (value.len() <= 14 && value.bytes().filter(u8::is_ascii_digit).eq(MY_NUMBER_SAMPLE.bytes()))
}

/// True when a value assigned to a password-like name reads as code, not as a secret: a null
/// (`NULL`, `None`), a cast, call or pointer (`(char *) (p + 2)`, `getenv("PW")`), a member
/// path (`self.pwd`, `os.environ`), a CSS selector or element id (`#add-password`), or an
/// identifier of lower-case words that names a secret instead of holding one
/// (`user_password_hash`, `db-password`; a passphrase like `correct-horse-battery` stays).
fn code(v: &str) -> bool {
    let v = v.trim_end_matches([';', ',']);
    const NULLS: &[&str] = &["null", "nil", "none", "undefined", "nullptr", "true", "false", "nothing"];
    if NULLS.iter().any(|n| v.eq_ignore_ascii_case(n)) {
        return true;
    }
    let ident = |w: &str| {
        !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !w.as_bytes()[0].is_ascii_digit()
    };
    let b = v.as_bytes();
    // a cast, call, variable ($HOME), path or ARN
    if matches!(b.first(), Some(b'(' | b'$' | b'/'))
        || (v.contains('(') && v.ends_with(')'))
        || v.contains("->")
        || v.starts_with("arn:")
    {
        return true;
    }
    // self.pwd, os.environ, config.db.password, process.env.DB_PASSWORD: every part a word
    // (lower case, UPPER_SNAKE or camelCase), not `e8P8M.nuAGKwFQer`
    let word = |w: &str| {
        ident(w)
            && (w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                || w.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                || (w.as_bytes()[0].is_ascii_lowercase() && w.bytes().all(|b| b.is_ascii_alphabetic())))
    };
    if v.split('.').count() >= 2 && v.split('.').all(word) && v.bytes().any(|b| b.is_ascii_lowercase()) {
        return true;
    }
    let selector = v.starts_with(['#', '.']);
    let words: Vec<&str> = v.trim_start_matches(['#', '.']).split(['-', '_']).collect();
    const NAMES: &[&str] = &["password", "passwd", "pwd", "pass", "secret", "token", "key", "pin"];
    words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (selector || words.iter().any(|w| NAMES.contains(w)))
}

fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "sample",
        "dummy",
        "xxxxx",
        "*****",
        "changeme",
        "change_me",
        "placeholder",
        "your_",
        "your-",
        "<",
        "${",
        "#{",
        "{{",
        "abcdefgh",
        "%s",
        "redacted",
        "password123",
        "passw0rd",
        "hunter2",
    ];
    WORDS.iter().any(|w| l.contains(w)) || (l.len() >= 4 && l.bytes().all(|b| b == l.as_bytes()[0]))
}

fn uk_nhs(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let s: u32 = d[..9].iter().enumerate().map(|(i, &x)| (x - b'0') as u32 * (10 - i as u32)).sum();
    let check = (11 - s % 11) % 11;
    check != 10 && check == (d[9] - b'0') as u32
}

/// National Insurance number prefixes that HMRC never issues.
fn uk_nino(v: &str) -> bool {
    let s: Vec<u8> = v.bytes().filter(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_uppercase()).collect();
    if s.len() < 8 {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    let bad1 = b"DFIQUV";
    let bad2 = b"DFIQUVO";
    let pre = std::str::from_utf8(&s[..2]).unwrap_or("");
    !bad1.contains(&a) && !bad2.contains(&b) && !matches!(pre, "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ")
}

fn au_tfn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    const W: [u32; 9] = [1, 4, 3, 7, 5, 8, 6, 9, 10];
    d.iter().zip(W).map(|(&x, w)| (x - b'0') as u32 * w).sum::<u32>() % 11 == 0
}

pub fn verhoeff(d: &[u8]) -> bool {
    const M: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = M[c as usize][P[i % 8][(x - b'0') as usize] as usize];
    }
    c == 0
}

fn br_cpf(d: &[u8]) -> bool {
    if d.len() != 11 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|&x| (x - b'0') as u32).collect();
    let digit = |n: usize| {
        let s: u32 = (0..n).map(|i| v[i] * (n as u32 + 1 - i as u32)).sum();
        (s * 10 % 11) % 10
    };
    digit(9) == v[9] && digit(10) == v[10]
}

fn es_dni(v: &str) -> bool {
    let s: Vec<u8> = v.bytes().filter(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 9 {
        return false;
    }
    let mut digits = s[..8].to_vec();
    match digits[0] {
        b'X' => digits[0] = b'0',
        b'Y' => digits[0] = b'1',
        b'Z' => digits[0] = b'2',
        _ => {}
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    LETTERS[(num(&digits) % 23) as usize] == s[8]
}

/// 居民身份证: ISO 7064 MOD 11-2 over 17 digits, check character 0–9 or X.
fn cn_resident_id(v: &str) -> bool {
    let s = v.as_bytes();
    if s.len() != 18 || !s[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = s[..17].iter().zip(W).map(|(&x, w)| (x - b'0') as u32 * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    let (m, dd) = (num(&s[10..12]), num(&s[12..14]));
    (1..=12).contains(&m) && (1..=31).contains(&dd) && s[17].to_ascii_uppercase() == check
}

fn sg_nric(v: &str) -> bool {
    let s: Vec<u8> = v.bytes().map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 9 || !s[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = s[1..8].iter().zip(W).map(|(&x, w)| (x - b'0') as u32 * w).sum();
    if matches!(s[0], b'T' | b'G') {
        sum += 4;
    }
    let r = (sum % 11) as usize;
    let table: &[u8] = match s[0] {
        b'S' | b'T' => b"JZIHGFEDCBA",
        b'F' | b'G' => b"XWUTRQPNMLK",
        _ => return false,
    };
    table[r] == s[8]
}

/// 주민등록번호 (numbers issued before October 2020 carry a check digit).
fn kr_rrn(d: &[u8]) -> bool {
    if d.len() != 13 || !matches!(d[6], b'1'..=b'4') {
        return false;
    }
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let s: u32 = d[..12].iter().zip(W).map(|(&x, w)| (x - b'0') as u32 * w).sum();
    let (m, dd) = (num(&d[2..4]), num(&d[4..6]));
    (1..=12).contains(&m) && (1..=31).contains(&dd) && (11 - s % 11) % 10 == (d[12] - b'0') as u32
}

/// NIR (numéro de sécurité sociale): key = 97 − (first 13 characters mod 97), Corsica 2A/2B
/// counted as 19/18.
fn fr_insee(v: &str) -> bool {
    let s: Vec<u8> = v.bytes().filter(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 15 || !matches!(s[0], b'1' | b'2') {
        return false;
    }
    let mut body = s[..13].to_vec();
    let adjust = match (body[5], body[6]) {
        (b'2', b'A') => {
            body[6] = b'0';
            1_000_000
        }
        (b'2', b'B') => {
            body[6] = b'0';
            2_000_000
        }
        _ => 0,
    };
    if !body.iter().all(u8::is_ascii_digit) || !s[13..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = num(&body) - adjust;
    97 - n % 97 == num(&s[13..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        s.bytes().filter(u8::is_ascii_digit).collect()
    }

    #[test]
    fn published_test_vectors() {
        assert!(jp_my_number(&d("6214 9832 0257")));
        assert!(!jp_my_number(&d("6214 9832 0258")));
        assert!(jp_corporate_number(&d("5835678256246")));
        assert!(!jp_corporate_number(&d("5835678256247")));
        assert!(luhn(&d("4111111111111111")) && card_iin(&d("4111111111111111")));
        assert!(!luhn(&d("4111111111111112")));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        assert!(iban("DE89370400440532013000"));
        assert!(aba_routing(&d("011000015")));
        assert!(uk_nhs(&d("9434765919")));
        assert!(au_tfn(&d("123456782")));
        assert!(verhoeff(&d("234123412346")));
        assert!(br_cpf(&d("39053344705")));
        assert!(es_dni("12345678Z"));
        assert!(cn_resident_id("11010519491231002X"));
        assert!(sg_nric("S1234567D"));
        assert!(fr_insee("295109912611193"));
    }

    #[test]
    fn phone_plan() {
        assert!(jp_phone(&d("090-1234-5678")));
        assert!(jp_phone(&d("03-1234-5678")));
        assert!(jp_phone(&d("0120-123-456")));
        assert!(!jp_phone(&d("090-1234-567")));
        assert!(!jp_phone(&d("0012345678")));
    }

    #[test]
    fn junk_filters() {
        assert!(sequential(&d("123456789012")));
        assert!(date_prefix(&d("202610160001")));
        assert!(placeholder("AKIAIOSFODNN7EXAMPLE"));
        assert!(entropy(b"aaaaaaaa") < 0.1);
    }
}
