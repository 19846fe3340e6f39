//! Route → subject → reply: the only thing most edge handlers do.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Edge;
use super::settings_cache::Lookup;
use crate::api::Endpoint;
use crate::bus::envelope::{self, FORWARDED};
use crate::bus::subjects;
use crate::error::{ApiError, ErrorCode};
use crate::ids::OrgId;

impl Edge {
    /// Publishes the request on the endpoint's subject for `org` and answers with the reply.
    pub(super) async fn forward(
        &self,
        endpoint: Endpoint,
        org: &str,
        path: HashMap<String, String>,
        query: Option<String>,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Response {
        match self.call(endpoint, org, path, query, headers, body).await {
            Ok(reply) => answer(reply),
            Err(err) => err.into_response(),
        }
    }

    /// The widget's settings: from this node's [`SettingsCache`](super::SettingsCache) when it
    /// holds them, else from the owner (and kept). Errors (an unknown org) are never kept.
    pub(super) async fn widget_settings(&self, org: &str, headers: &HeaderMap) -> Response {
        let id = match OrgId::parse(org) {
            Ok(id) => id,
            Err(err) => return err.into_response(),
        };
        let ticket = match self.settings.get(&id) {
            Lookup::Hit(body) => return (StatusCode::OK, JSON, body).into_response(),
            Lookup::Miss(ticket) => ticket,
        };
        match self.call(Endpoint::WidgetSettings, org, HashMap::new(), None, headers, Ok(Bytes::new())).await
        {
            Ok(reply) => {
                if reply.status == StatusCode::OK.as_u16() {
                    self.settings.fill(&id, ticket, &reply.body);
                }
                answer(reply)
            }
            Err(err) => err.into_response(),
        }
    }

    /// The request on the bus, and its reply read back.
    pub(super) async fn call(
        &self,
        endpoint: Endpoint,
        org: &str,
        path: HashMap<String, String>,
        query: Option<String>,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<envelope::Reply, ApiError> {
        let body = body.map_err(body_error)?;
        self.call_with(endpoint, org, path, query, headers, None, body).await
    }

    /// [`Edge::call`] with a body already read, and the name of a source the edge stored.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call_with(
        &self,
        endpoint: Endpoint,
        org: &str,
        path: HashMap<String, String>,
        query: Option<String>,
        headers: &HeaderMap,
        upload: Option<&str>,
        body: Bytes,
    ) -> Result<envelope::Reply, ApiError> {
        let params = params(path, query);
        let org = OrgId::parse(org)?;
        let mut nats_headers = async_nats::HeaderMap::new();
        if let Some(upload) = upload {
            nats_headers.insert(envelope::UPLOAD, upload);
        }
        if !params.is_empty() {
            nats_headers.insert(envelope::PARAMS, params.as_str());
        }
        for name in FORWARDED {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                nats_headers.insert(name, value);
            }
        }
        crate::bus::request(
            &self.nats,
            subjects::public(&org, endpoint),
            nats_headers,
            body,
            self.request_timeout,
        )
        .await
    }
}

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

pub(super) fn answer(reply: envelope::Reply) -> Response {
    (StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK), JSON, reply.body).into_response()
}

/// Path parameters (other than the org, which is in the subject) and the query string, as one
/// URL query string for `Assist-Params`.
fn params(path: HashMap<String, String>, query: Option<String>) -> String {
    let mut out = form_urlencoded::Serializer::new(query.unwrap_or_default());
    for (name, value) in path {
        out.append_pair(&name, &value);
    }
    out.finish()
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "body: the request body is too large")
    } else {
        ApiError::invalid("body", rejection.body_text())
    }
}
