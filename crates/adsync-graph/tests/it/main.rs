//! adsync-graph against wiremock: one server per test, no sleeping retries, loopback only.

mod bounded;
mod groups;
mod hostile;
mod members;
mod page_fuzz;
mod retry;
mod security;
mod token;

use adsync_core::adapter::{AdapterError, Source, SourceRequest};
use adsync_core::config::{Cloud, GroupRef};
use adsync_core::model::DirectorySnapshot;
use adsync_core::secret::Secret;
use adsync_graph::{GraphSettings, GraphSource, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const SECRET: &str = "kV8Q~not-a-real-secret-but-secret-enough";
/// The `access_token` of `token-success.json`.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik1uQ19WWmNBVGZNNXBP...";
const TOKEN_PATH: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";

/// A payload from `fixtures/graph/`.
fn fixture(name: &str) -> String {
    let file = format!("{}/../../fixtures/graph/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn settings(server: &MockServer) -> GraphSettings {
    GraphSettings {
        tenant: TENANT.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(SECRET),
        cloud: Cloud::Global,
        authority_url: Some(server.uri()),
        graph_url: Some(server.uri()),
        concurrency: 4,
        retry: RetryPolicy::immediate(4),
    }
}

fn source(server: &MockServer) -> GraphSource {
    GraphSource::new(settings(server)).expect("valid settings")
}

/// The token endpoint, answering with the verbatim success sample.
async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(200, &fixture("token-success.json")))
        .mount(server)
        .await;
}

/// A Graph URL on `server`.
fn graph(server: &MockServer, rest: &str) -> String {
    format!("{}/v1.0/{rest}", server.uri())
}

fn by_id(id: &str) -> GroupRef {
    GroupRef::Id { id: id.to_owned() }
}

fn request(groups: Vec<GroupRef>, nested_groups: bool) -> SourceRequest {
    SourceRequest {
        groups,
        nested_groups,
        ..Default::default()
    }
}

async fn snapshot(
    source: &GraphSource,
    request: &SourceRequest,
) -> Result<DirectorySnapshot, AdapterError> {
    Source::snapshot(source, request).await
}

/// A user as Graph lists it with adsync's `$select`.
fn user_json(id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "@odata.type": "#microsoft.graph.user",
        "id": id,
        "userPrincipalName": format!("{name}@contoso.com"),
        "mail": format!("{name}@contoso.com"),
        "displayName": name,
        "givenName": name,
        "surname": null,
        "jobTitle": "Engineer",
        "department": null,
        "mobilePhone": null,
        "employeeId": null,
        "accountEnabled": true
    })
}

fn page(values: Vec<serde_json::Value>, next: Option<String>) -> ResponseTemplate {
    let mut body = serde_json::json!({ "value": values });
    if let Some(next) = next {
        body["@odata.nextLink"] = serde_json::Value::String(next);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn group_json(id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({ "id": id, "displayName": name, "description": null })
}
