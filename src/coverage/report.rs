//! The coverage report's shape: what `GET /__standin/coverage`, the inspector and
//! `serve --report-html` read.

use super::*;

/// Everything `GET /__standin/coverage` answers and the HTML report shows.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Totals over every mounted spec.
    pub summary: Summary,
    /// One entry per mounted spec, in mount order.
    pub specs: Vec<SpecCoverage>,
    /// Operations no request reached.
    pub unexercised: Vec<OperationRef>,
    /// Requests that matched no operation.
    pub unmatched: Unmatched,
    /// Latency and load over the run.
    pub timeline: TimelineReport,
}

/// Totals of a spec or of the whole report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub operations: usize,
    pub exercised_operations: usize,
    /// Declared (operation, status) pairs, and how many of them answered at least once.
    pub statuses: usize,
    pub exercised_statuses: usize,
    /// Requests seen (whole report: every request, matched or not; per spec: its operations').
    pub requests: u64,
    /// Requests that broke the contract.
    pub violating: u64,
    /// Requests that matched no operation (whole report only).
    pub unmatched: u64,
}

impl Summary {
    pub(super) fn of(rows: &[OperationCoverage]) -> Summary {
        Summary {
            operations: rows.len(),
            exercised_operations: rows.iter().filter(|r| r.requests > 0).count(),
            statuses: rows.iter().map(|r| r.statuses.len()).sum(),
            exercised_statuses: rows.iter().flat_map(|r| &r.statuses).filter(|s| s.requests > 0).count(),
            requests: rows.iter().map(|r| r.requests).sum(),
            violating: rows.iter().map(|r| r.violating).sum(),
            unmatched: 0,
        }
    }

    pub(super) fn add(&mut self, other: &Summary) {
        self.operations += other.operations;
        self.exercised_operations += other.exercised_operations;
        self.statuses += other.statuses;
        self.exercised_statuses += other.exercised_statuses;
        self.violating += other.violating;
    }

    /// Share of operations exercised, in percent (100 for a spec without operations).
    pub fn operation_percent(&self) -> f64 {
        if self.operations == 0 {
            100.0
        } else {
            (self.exercised_operations as f64 * 1000.0 / self.operations as f64).round() / 10.0
        }
    }
}

/// The coverage of one mounted spec.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecCoverage {
    pub title: String,
    pub version: String,
    pub base_path: String,
    /// Every status any operation declares (`200`, `4XX`, `default`), in precedence order: the
    /// columns of the matrix.
    pub statuses: Vec<String>,
    pub summary: Summary,
    pub operations: Vec<OperationCoverage>,
}

/// One operation: its declared statuses and what clients sent it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationCoverage {
    /// `operationId`, or `METHOD /path`.
    pub operation: String,
    pub method: String,
    /// The path template, without the base path.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub requests: u64,
    pub violating: u64,
    /// Each declared status, in precedence order.
    pub statuses: Vec<StatusCoverage>,
    /// Statuses answered that the operation does not declare (a 400 standin's validation gave
    /// to an operation declaring only 200, say).
    pub undeclared_statuses: Vec<UndeclaredStatus>,
    /// Declared parameters and how many requests sent each (path parameters: every request).
    pub parameters: Vec<ParamCoverage>,
    /// Query parameters sent that the operation does not declare.
    pub undeclared_parameters: Vec<SentName>,
    /// Body fields the request schema declares and how many requests sent each.
    pub body_fields: Vec<SentName>,
    /// Body fields sent that the schema does not declare.
    pub undeclared_body_fields: Vec<SentName>,
    /// Where problems were found (array indexes as `[]`) and how often.
    pub problems: Vec<ProblemCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<f64>,
}

/// One declared status of an operation.
#[derive(Debug, Clone, Serialize)]
pub struct StatusCoverage {
    /// As declared: `200`, `4XX`, `default`.
    pub status: String,
    pub requests: u64,
    pub violating: u64,
}

/// A status answered that the operation does not declare.
#[derive(Debug, Clone, Serialize)]
pub struct UndeclaredStatus {
    pub status: u16,
    pub requests: u64,
    pub violating: u64,
}

/// A declared parameter.
#[derive(Debug, Clone, Serialize)]
pub struct ParamCoverage {
    pub name: String,
    #[serde(rename = "in")]
    pub location: &'static str,
    pub required: bool,
    /// How many requests sent it.
    pub sent: u64,
}

/// A name (parameter or body field) and how many requests sent it.
#[derive(Debug, Clone, Serialize)]
pub struct SentName {
    pub name: String,
    pub sent: u64,
}

/// A problem location and how often it was reported.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemCount {
    pub location: String,
    pub count: u64,
}

/// An operation, named for the list of unexercised ones.
#[derive(Debug, Clone, Serialize)]
pub struct OperationRef {
    pub spec: String,
    pub operation: String,
    pub method: String,
    pub path: String,
}

/// Requests that matched no operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unmatched {
    pub requests: u64,
    /// The first distinct ones, by method and path.
    pub examples: Vec<UnmatchedExample>,
}

/// One distinct unmatched request.
#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedExample {
    pub method: String,
    pub path: String,
    pub requests: u64,
}

/// Latency and load over the run.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineReport {
    /// When the first exchange arrived (RFC 3339), if any did.
    pub started_at: Option<String>,
    /// The same, in epoch milliseconds.
    pub started_ms: Option<u64>,
    /// The width of each bucket.
    pub bucket_ms: u64,
    pub buckets: Vec<TimelineBucket>,
}

/// One bucket of the timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineBucket {
    pub requests: u64,
    pub violating: u64,
    pub avg_ms: f64,
    pub max_ms: f64,
}
