//! The references, each a separate process: bare axum, bare axum plus one NATS hop, and a naive edge reading SurrealDB on every request.

use super::*;

pub(crate) async fn listen(port: &str) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind reference")
}

pub(crate) async fn serve_bare(port: &str, body_file: &str) {
    let body = Bytes::from(std::fs::read(body_file).expect("read body"));
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(_org): UrlPath<String>| {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}

pub(crate) async fn serve_nats(port: &str, nats_url: &str, body_file: &str) {
    let body = Bytes::from(std::fs::read(body_file).expect("read body"));
    let client = async_nats::connect(nats_url).await.expect("connect to the reference nats-server");
    let mut requests = client.subscribe("bench.settings.*").await.unwrap();
    let responder = client.clone();
    tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = msg.reply {
                let _ = responder.publish(reply, body.clone()).await;
            }
        }
    });
    client.flush().await.unwrap();
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(org): UrlPath<String>| {
            let client = client.clone();
            async move {
                match client.request(format!("bench.settings.{org}"), Bytes::new()).await {
                    Ok(msg) => ([(CONTENT_TYPE, "application/json")], msg.payload).into_response(),
                    Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                }
            }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}

/// An edge with no actors and no bus: every request reads the org's settings from SurrealDB
/// (surrealkv on disk, assist's own repository) and serializes them.
pub(crate) async fn serve_naive(port: &str, db_dir: &str) {
    use assist::db::{Db, widget_settings::WidgetSettingsRepo};
    use assist::ids::OrgId;
    use assist::model::widget_settings::WidgetSettings;
    let db = Db::connect(&format!("surrealkv://{db_dir}/db")).await.expect("open naive db");
    let repo = WidgetSettingsRepo::new(db);
    let settings: WidgetSettings = serde_json::from_value(bench_settings("naive")).unwrap();
    for i in 0..WARM_ORGS {
        repo.put(&OrgId::parse(&org_name(i)).unwrap(), &settings).await.unwrap();
    }
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(org): UrlPath<String>| {
            let repo = repo.clone();
            async move {
                let Ok(org) = OrgId::parse(&org) else {
                    return axum::http::StatusCode::BAD_REQUEST.into_response();
                };
                match repo.get(&org).await {
                    Ok(Some(s)) => ([(CONTENT_TYPE, "application/json")], serde_json::to_vec(&s).unwrap())
                        .into_response(),
                    Ok(None) => axum::http::StatusCode::NOT_FOUND.into_response(),
                    Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}
