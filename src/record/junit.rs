//! JUnit XML for CI: the one writer behind `serve --report` (one test case per operation) and
//! `verify --junit` (one test case per recorded exchange).
//!
//! Takes a suite name and its [`Case`]s; hands back the XML text. `quick-junit` does the
//! escaping, and drops the characters XML 1.0 does not allow at all (control characters such as
//! `\u{1}` that a client can echo into a violation message), so the report always parses.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// One test case of a report.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// `None` when the case passed; else the short message (an attribute) and the full text.
    pub failure: Option<Failure>,
}

/// Why a case failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// One line, shown by CI next to the case name.
    pub message: String,
    /// Every detail, one per line.
    pub text: String,
}

/// The report: one suite named `suite`, every case with `classname`.
pub fn render(suite: &str, classname: &str, cases: impl IntoIterator<Item = Case>) -> String {
    let mut test_suite = TestSuite::new(suite);
    for case in cases {
        let status = match case.failure {
            None => TestCaseStatus::success(),
            Some(f) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(f.message).set_description(f.text);
                status
            }
        };
        let mut test_case = TestCase::new(case.name, status);
        test_case.set_classname(classname);
        test_suite.add_test_case(test_case);
    }
    let mut report = Report::new(suite);
    report.add_test_suite(test_suite);
    // Serializing into memory fails only on a bug in the XML writer.
    report
        .to_string()
        .unwrap_or_else(|e| format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- the report could not be written: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every attribute value and every text node (entities resolved), parsed back with an XML
    /// parser: a report that is not well-formed XML fails here.
    fn parse(xml: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut out = Vec::new();
        let mut text = String::new();
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("the report is not XML: {e}\n{xml}")) {
                Event::Eof => break,
                Event::Start(tag) | Event::Empty(tag) => {
                    out.push(std::mem::take(&mut text));
                    for a in tag.attributes() {
                        out.push(a.unwrap().normalized_value(quick_xml::XmlVersion::Explicit1_0).unwrap().into_owned());
                    }
                }
                Event::End(_) => out.push(std::mem::take(&mut text)),
                Event::Text(t) => text.push_str(&t.decode().unwrap()),
                Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                    Some(c) => text.push(c),
                    None => text.push_str(quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap()).expect("a predefined entity")),
                },
                _ => {}
            }
        }
        out
    }

    #[test]
    fn control_characters_in_messages_do_not_break_the_xml() {
        // Arrange
        let cases = vec![
            Case { name: "ok <case> & \"quotes\"".into(), failure: None },
            Case {
                name: "bad\u{1}case".into(),
                failure: Some(Failure {
                    message: "query.q: \u{1}x\u{7} is not allowed".into(),
                    text: "line <1>\nline\u{1b}[31m 2\u{0}".into(),
                }),
            },
        ];

        // Act
        let xml = render("standin verify", "verify", cases);

        // Assert
        assert!(!xml.chars().any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')), "{xml:?}");
        let values = parse(&xml);
        assert!(values.iter().any(|v| v == "ok <case> & \"quotes\""), "{values:?}");
        assert!(values.iter().any(|v| v == "badcase"), "{values:?}");
        assert!(values.iter().any(|v| v == "query.q: x is not allowed"), "{values:?}");
        assert!(values.iter().any(|v| v.contains("line <1>")), "{values:?}");
        assert!(xml.contains("<testsuite name=\"standin verify\" tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"1\""), "{xml}");
    }
}
