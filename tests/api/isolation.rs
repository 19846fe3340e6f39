//! Tenant isolation on every route. The routes and their valid bodies come from the operations'
//! declarations (`assist::api`), so a new operation is walked here automatically.

use assist::api::{Access, Endpoint};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, spawn_app};

/// Two organizations, each with an end-user who has a conversation with a message and a
/// knowledge-base document, and a second end-user in org A with nothing.
struct World {
    app: TestApp,
    a_session: (String, String),
    a_other_session: (String, String),
    a_conversation: String,
    a_document: String,
    b_session: (String, String),
    b_conversation: String,
    b_document: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    app.known_org("org_a").await;
    app.known_org("org_b").await;
    let a_session = app.session("org_a", "Ada").await;
    let a_other_session = app.session("org_a", "Eve").await;
    let b_session = app.session("org_b", "Bob").await;
    let a_conversation = app.conversation("org_a", &a_session.1).await;
    let b_conversation = app.conversation("org_b", &b_session.1).await;
    for (org, token, conversation) in
        [("org_a", &a_session.1, &a_conversation), ("org_b", &b_session.1, &b_conversation)]
    {
        let path = format!("/v1/widget/{org}/conversations/{conversation}/messages");
        app.widget(Method::POST, &path, Some(token), Some(&json!({"text": "secret of {org}"}))).await;
    }
    let a_document = crate::knowledge::add_text(&app, "org_a", "Ours", "secret of org_a").await;
    let b_document = crate::knowledge::add_text(&app, "org_b", "Bob's", "secret of org_b").await;
    let [a_document, b_document] =
        [a_document, b_document].map(|d| d.body["id"].as_str().unwrap().to_owned());
    crate::knowledge::settled(&app, "org_a", &a_document).await;
    crate::knowledge::settled(&app, "org_b", &b_document).await;
    World {
        app,
        a_session,
        a_other_session,
        a_conversation,
        a_document,
        b_session,
        b_conversation,
        b_document,
    }
}

fn sample_body(endpoint: Endpoint) -> Option<Value> {
    endpoint.spec().example.map(|example| serde_json::from_str(example).unwrap())
}

/// The route's path for `org`, with `{id}` filled by the kind of id the route takes.
fn path(endpoint: Endpoint, org: &str, (conversation, session, document): (&str, &str, &str)) -> String {
    let template = endpoint.spec().path;
    let id = match endpoint {
        Endpoint::ContactSessionGet => session,
        _ if template.starts_with("/v1/orgs/{org}/knowledge/") => document,
        _ => conversation,
    };
    template.replace("{org}", org).replace("{id}", id)
}

async fn call(w: &World, endpoint: Endpoint, path: &str, jwt: Option<&str>, session: Option<&str>) -> Answer {
    let method = endpoint.spec().method;
    let mut request =
        w.app.http.request(Method::from_bytes(method.as_str().as_bytes()).unwrap(), w.app.url(path));
    if let Some(jwt) = jwt {
        request = request.bearer_auth(jwt);
    }
    if let Some(session) = session {
        request = request.header("X-Contact-Session", session);
    }
    if let Some(body) = sample_body(endpoint) {
        request = request.json(&body);
    }
    crate::helpers::answer(request.send().await.unwrap()).await
}

/// Nothing of org B (ids, names, message text) appears in what org A's caller got back,
/// beyond an id the caller sent itself.
fn assert_no_b_data(w: &World, answer: &Answer, what: &str, sent: &str) {
    let text = answer.body.to_string();
    for secret in
        [w.b_conversation.as_str(), w.b_session.0.as_str(), w.b_document.as_str(), "Bob", "secret of org_b"]
    {
        assert!(sent.contains(secret) || !text.contains(secret), "{what} leaked {secret}: {text}");
    }
}

#[tokio::test]
async fn every_route_refuses_callers_without_the_right_credentials() {
    let w = world().await;
    let jwt_b = w.app.token("org_b");
    let jwt_a = w.app.token("org_a");
    for endpoint in Endpoint::ALL {
        let own = path(endpoint, "org_a", (&w.a_conversation, &w.a_session.0, &w.a_document));
        let foreign_ids = path(endpoint, "org_a", (&w.b_conversation, &w.b_session.0, &w.b_document));
        let name = format!("{endpoint:?}");
        match endpoint.spec().access {
            Access::Operator => {
                let none = call(&w, endpoint, &own, None, None).await;
                assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{name} without a token");
                let other_org = call(&w, endpoint, &own, Some(&jwt_b), None).await;
                assert_eq!(other_org.status, StatusCode::FORBIDDEN, "{name} with org B's token");
                let widget_token = call(&w, endpoint, &own, None, Some(&w.a_session.1)).await;
                assert_eq!(widget_token.status, StatusCode::UNAUTHORIZED, "{name} with a contact session");
                if endpoint.spec().path.contains("{id}") {
                    let answer = call(&w, endpoint, &foreign_ids, Some(&jwt_a), None).await;
                    assert_eq!(
                        answer.status,
                        StatusCode::NOT_FOUND,
                        "{name} with org B's ids: {}",
                        answer.body
                    );
                    assert_no_b_data(&w, &answer, &name, &foreign_ids);
                }
            }
            Access::Contact => {
                let none = call(&w, endpoint, &own, None, None).await;
                assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{name} without a session");
                let jwt = call(&w, endpoint, &own, Some(&jwt_a), None).await;
                assert_eq!(jwt.status, StatusCode::UNAUTHORIZED, "{name} with an operator token only");
                let other_org = call(&w, endpoint, &own, None, Some(&w.b_session.1)).await;
                assert_eq!(other_org.status, StatusCode::UNAUTHORIZED, "{name} with org B's session");
                if endpoint.spec().path.contains("{id}") {
                    let neighbour = call(&w, endpoint, &own, None, Some(&w.a_other_session.1)).await;
                    assert_eq!(
                        neighbour.status,
                        StatusCode::NOT_FOUND,
                        "{name} with another end-user's session"
                    );
                    let answer = call(&w, endpoint, &foreign_ids, None, Some(&w.a_session.1)).await;
                    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{name} with org B's ids");
                    assert_no_b_data(&w, &answer, &name, &foreign_ids);
                }
            }
            Access::Anonymous => {
                let unknown =
                    path(endpoint, "org_unknown", (&w.a_conversation, &w.a_session.0, &w.a_document));
                let answer = call(&w, endpoint, &unknown, None, None).await;
                assert_eq!(answer.status, StatusCode::NOT_FOUND, "{name} on an unknown org");
            }
        }
    }
}

#[tokio::test]
async fn an_end_user_lists_only_their_own_conversations() {
    let w = world().await;

    let neighbour =
        w.app.widget(Method::GET, "/v1/widget/org_a/conversations", Some(&w.a_other_session.1), None).await;
    let owner = w.app.widget(Method::GET, "/v1/widget/org_a/conversations", Some(&w.a_session.1), None).await;

    assert_eq!(neighbour.body["items"], json!([]));
    assert_eq!(owner.body["items"][0]["id"], w.a_conversation.as_str());
}

#[tokio::test]
async fn an_operator_lists_only_their_own_organizations_conversations() {
    let w = world().await;

    let list = w.app.get("/v1/orgs/org_a/conversations", Some(&w.app.token("org_a"))).await;

    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], w.a_conversation.as_str());
    assert_no_b_data(&w, &list, "list", "");
}
