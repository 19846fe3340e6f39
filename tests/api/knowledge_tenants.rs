//! Retrieval never crosses tenants: many orgs share the store with near-identical documents,
//! and each org's search returns only its own passages, its planted answer first.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;
use crate::knowledge::{add_text, search, settled};

const ORGS: usize = 20;

fn org(i: usize) -> String {
    format!("org_tenant{i:02}")
}

/// Each org's own answer, worded like every other org's so that only the code tells them apart.
fn planted(i: usize) -> String {
    format!("The code that opens the vault is {}; tell it only to members.", 7000 + i)
}

#[tokio::test]
async fn each_org_finds_only_its_own_passages_and_its_planted_answer_first() {
    let app = spawn_app().await;
    let shared = [
        "Shipping takes three to five days to every country we serve.",
        "The vault is in the basement, next to the archive of old invoices.",
    ];
    let mut owned: Vec<HashSet<String>> = Vec::new();
    let mut planted_ids = Vec::new();
    for i in 0..ORGS {
        let mut ids = HashSet::new();
        for (n, text) in shared.iter().enumerate() {
            let added = add_text(&app, &org(i), &format!("Shared {n}"), text).await;
            assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.body);
            ids.insert(added.body["id"].as_str().unwrap().to_owned());
        }
        let added = add_text(&app, &org(i), "Vault", &planted(i)).await;
        let id = added.body["id"].as_str().unwrap().to_owned();
        ids.insert(id.clone());
        planted_ids.push(id);
        owned.push(ids);
    }
    for (i, ids) in owned.iter().enumerate() {
        for id in ids {
            assert_eq!(settled(&app, &org(i), id).await["status"], "ready", "{} {id}", org(i));
        }
    }
    for (i, ids) in owned.iter().enumerate() {
        let hits = search(&app, &org(i), "which code opens the vault").await;
        assert_eq!(hits.len(), 3, "{}: only its own three passages: {hits:?}", org(i));
        assert_eq!(hits[0]["documentId"], planted_ids[i].as_str(), "{}: {hits:?}", org(i));
        assert!(hits[0]["text"].as_str().unwrap().contains(&(7000 + i).to_string()));
        for hit in &hits {
            assert!(
                ids.contains(hit["documentId"].as_str().unwrap()),
                "{} got another org's passage",
                org(i)
            );
        }
    }
    // Another org's document id reads as missing, and its deletion is refused the same way.
    let foreign = format!("/v1/orgs/{}/knowledge/{}", org(0), planted_ids[1]);
    let token = app.token(&org(0));
    assert_eq!(app.get(&foreign, Some(&token)).await.status, StatusCode::NOT_FOUND);
    let deleted = app.send(reqwest::Method::DELETE, &foreign, Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    let still = search(&app, &org(1), "which code opens the vault").await;
    assert_eq!(still[0]["documentId"], planted_ids[1].as_str());
    let other = app
        .post(&format!("/v1/orgs/{}/knowledge/search", org(1)), Some(&token), &json!({"query": "vault"}))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "org 0's operator cannot search org 1");
}
