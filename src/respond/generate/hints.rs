//! Property names → what to generate: the kind of fake text (`email`, `firstName`, `city`, …)
//! and the typical numeric range (`amount`, `age`, `latitude`, …).
//!
//! [`Hint::from_name`] runs at compile time, once per property; the `fake` crate vocabulary
//! (`Run::text`, `Run::formatted`) runs per value, from the hint or the schema's `format`.

use fake::Fake;
use rand::RngExt;

use super::run::Run;
use crate::util::hash::push_hex;
use crate::util::time::format_rfc3339;

/// What a property name suggests: the kind of text and the typical numeric range.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hint {
    pub(super) text: Text,
    pub(super) range: (f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    Word,
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Company,
    Url,
    Phone,
    City,
    CountryCode,
    Country,
    State,
    Street,
    Zip,
    Currency,
    DateTime,
    Sentence,
    Title,
    Id,
}

impl Hint {
    pub(super) const NONE: Hint = Hint { text: Text::Word, range: (1.0, 1_000.0) };

    pub(super) fn from_name(name: &str) -> Hint {
        let n = normalize_name(name);
        let has = |k: &str| n.contains(k);
        let text = if has("email") {
            Text::Email
        } else if n == "firstname" || n == "givenname" {
            Text::FirstName
        } else if n == "lastname" || n == "surname" || n == "familyname" {
            Text::LastName
        } else if has("url") || has("website") || has("link") || has("href") {
            Text::Url
        } else if has("company") || has("organization") || n == "customername" || n == "account" {
            Text::Company
        } else if n == "name" || n.ends_with("fullname") || n == "displayname" {
            Text::FullName
        } else if has("username") || n == "login" || n == "handle" {
            Text::Username
        } else if has("phone") || has("mobile") {
            Text::Phone
        } else if has("city") {
            Text::City
        } else if n == "countrycode" || n == "country" {
            Text::CountryCode
        } else if has("country") {
            Text::Country
        } else if n == "state" || n == "region" || n == "province" {
            Text::State
        } else if has("street") || has("address") {
            Text::Street
        } else if has("zip") || has("postal") {
            Text::Zip
        } else if has("currency") {
            Text::Currency
        } else if n.ends_with("at") || has("date") || has("time") {
            Text::DateTime
        } else if ["description", "note", "comment", "message", "summary", "content", "body"].iter().any(|k| has(k)) {
            Text::Sentence
        } else if has("title") || has("subject") || n.ends_with("name") || has("label") {
            Text::Title
        } else if n == "id" || n.ends_with("id") || n.ends_with("uuid") {
            Text::Id
        } else {
            Text::Word
        };
        let range = if n.ends_with("id") {
            (1.0, 99_999.0)
        } else if ["amount", "price", "value", "total", "balance", "cost", "revenue", "paid", "subtotal", "tax"].iter().any(|k| has(k)) {
            (100.0, 50_000.0)
        } else if ["count", "quantity", "qty", "number", "size"].iter().any(|k| has(k)) {
            (1.0, 50.0)
        } else if has("age") {
            (18.0, 90.0)
        } else if has("percent") || has("rate") {
            (0.0, 100.0)
        } else if has("latitude") || n == "lat" {
            (-90.0, 90.0)
        } else if has("longitude") || n == "lng" || n == "lon" {
            (-180.0, 180.0)
        } else if n.ends_with("ms") || has("duration") {
            (10.0, 5_000.0)
        } else if n.ends_with("at") || has("timestamp") || has("time") {
            (1_700_000_000.0, 1_760_000_000.0)
        } else {
            (1.0, 1_000.0)
        };
        Hint { text, range }
    }
}

fn normalize_name(n: &str) -> String {
    n.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

impl Run<'_> {
    pub(super) fn formatted(&mut self, format: &str) -> Option<String> {
        use fake::faker::internet::en::{IPv4, IPv6, SafeEmail};
        Some(match format {
            "email" | "idn-email" => SafeEmail().fake_with_rng(&mut self.rng),
            "uuid" => self.uuid(),
            "date-time" => self.datetime(),
            "date" => self.datetime()[..10].to_string(),
            "time" => self.datetime()[11..].to_string(),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" | "uri-template" => {
                format!("https://{}/{}", self.domain(), self.word())
            }
            "hostname" | "idn-hostname" => self.domain(),
            "ipv4" => IPv4().fake_with_rng(&mut self.rng),
            "ipv6" => IPv6().fake_with_rng(&mut self.rng),
            "byte" => {
                use base64::Engine;
                let raw: Vec<u8> = (0..12).map(|_| self.rng.random()).collect();
                base64::engine::general_purpose::STANDARD.encode(raw)
            }
            "password" => fake::faker::internet::en::Password(12..16).fake_with_rng(&mut self.rng),
            "int32" | "int64" | "uint64" => self.rng.random_range(1..100_000u32).to_string(),
            "decimal" | "double" | "float" => format!("{:.2}", self.rng.random_range(1.0..1000.0f64)),
            "duration" => format!("PT{}M", self.rng.random_range(1..120u32)),
            "json-pointer" => format!("/{}", self.word()),
            "regex" => "^[a-z]+$".to_string(),
            "phone" => fake::faker::phone_number::en::PhoneNumber().fake_with_rng(&mut self.rng),
            _ => return None,
        })
    }

    /// A string of the kind a property name suggests.
    pub(super) fn text(&mut self, hint: Text) -> String {
        use fake::faker::address::en::{CityName, CountryCode, CountryName, StateName, StreetName, ZipCode};
        use fake::faker::company::en::CompanyName;
        use fake::faker::internet::en::{SafeEmail, Username};
        use fake::faker::lorem::en::{Sentence, Words};
        use fake::faker::name::en::{FirstName, LastName};
        use fake::faker::phone_number::en::PhoneNumber;
        let r = &mut self.rng;
        match hint {
            Text::Email => SafeEmail().fake_with_rng(r),
            Text::FirstName => FirstName().fake_with_rng(r),
            Text::LastName => LastName().fake_with_rng(r),
            Text::FullName => {
                // fake's `Name` goes through a format template per call; the same names, cheaper.
                let mut name: String = FirstName().fake_with_rng(r);
                let last: String = LastName().fake_with_rng(r);
                name.push(' ');
                name.push_str(&last);
                name
            }
            Text::Username => Username().fake_with_rng(r),
            Text::Company => CompanyName().fake_with_rng(r),
            Text::Url => format!("https://{}/{}", self.domain(), self.word()),
            Text::Phone => PhoneNumber().fake_with_rng(r),
            Text::City => CityName().fake_with_rng(r),
            Text::CountryCode => CountryCode().fake_with_rng(r),
            Text::Country => CountryName().fake_with_rng(r),
            Text::State => StateName().fake_with_rng(r),
            Text::Street => format!("{} {}", r.random_range(1..9999u32), StreetName().fake_with_rng::<String, _>(r)),
            Text::Zip => ZipCode().fake_with_rng(r),
            Text::Currency => ["USD", "EUR", "GBP"][r.random_range(0..3)].to_string(),
            Text::DateTime => self.datetime(),
            Text::Sentence => Sentence(4..10).fake_with_rng(r),
            Text::Title => {
                let w: Vec<String> = Words(2..4).fake_with_rng(r);
                capitalize(&w.join(" "))
            }
            Text::Id => {
                let id: u64 = r.random_range(0..u64::MAX);
                let mut out = String::with_capacity(12);
                push_hex(&mut out, &id.to_be_bytes()[..6]);
                out
            }
            Text::Word => self.word(),
        }
    }

    pub(super) fn word(&mut self) -> String {
        fake::faker::lorem::en::Word().fake_with_rng(&mut self.rng)
    }

    fn domain(&mut self) -> String {
        let suffix: String = fake::faker::internet::en::DomainSuffix().fake_with_rng(&mut self.rng);
        format!("{}.{suffix}", self.word())
    }

    fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let mut out = String::with_capacity(36);
        for (i, part) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            push_hex(&mut out, part);
        }
        out
    }

    /// An RFC 3339 UTC timestamp between 2023-01-01 and 2026-01-01.
    fn datetime(&mut self) -> String {
        let secs: i64 = self.rng.random_range(1_672_531_200..1_767_225_600);
        format_rfc3339(secs)
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
